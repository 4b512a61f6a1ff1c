// The perf harness: measures raw thrift, meta-mesh (static routes and full
// chain) and a two-hop HAProxy path in one run, interleaved over rounds, and
// writes perf.md, perf.json and two SVG charts under bench/results/.
//   node dist/bench/perf/run-perf.js --quick          about 25 s, a smoke check
//   node dist/bench/perf/run-perf.js --full           the numbers to quote
//   node dist/bench/perf/run-perf.js --prof-scenario mesh-full
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeCharts } from './charts';
import type { LoadShape } from './client-worker';
import { parsePerfOptions, shapeKey, warmupOf, type PerfOptions } from './perf-options';
import { pinSelf, planPinning, type PinPlan } from './pinning';
import { printProfileSummary } from './profile-summary';
import { renderPerfMarkdown, type RunInfo } from './report-md';
import { aggregate, checkTargets, verdict } from './results';
import { startRig, type Rig } from './rig';
import { runCell, type CellResult } from './run-cell';
import { meshWarnings, type ScenarioName } from './scenarios';
import { fmt } from './stats';

function describe(cell: CellResult): string {
  const r = cell.result;
  const cpu = (cell.cpuUs.client ?? NaN) / r.calls;
  return `${fmt(r.callsPerSecond).padStart(7)} calls/s  p50 ${fmt(r.p50Us).padStart(6)} µs  p99 ${fmt(r.p99Us).padStart(6)} µs  client ${cpu.toFixed(1)} µs/call${r.errors > 0 ? `  errors ${r.errors}` : ''}`;
}

/** Profiles one scenario's client under one shape and prints where its time goes. */
async function profile(rig: Rig, options: PerfOptions, pin: PinPlan, scenario: ScenarioName, shape: LoadShape): Promise<string> {
  fs.mkdirSync(options.outDir, { recursive: true });
  const file = path.join(options.outDir, `${scenario}-${shapeKey(shape)}.cpuprofile`);
  console.log(`perf: profiling the ${scenario} client at ${shapeKey(shape)} for ${options.closedMs * 2} ms ...`);
  const cell = await runCell(rig, { scenario, shape, round: 0, warmupMs: Math.max(warmupOf(options, shape).warmupMs, 500), durationMs: options.closedMs * 2, profileFile: file }, pin.client);
  console.log(`perf: ${describe(cell)} (sampling profiler on: slower than unprofiled runs)`);
  printProfileSummary(file, cell.result.calls);
  console.log(`\nperf: wrote ${path.relative(process.cwd(), file)} (open it in Chrome DevTools → Performance, or VS Code)`);
  return file;
}

export async function runPerf(argv: readonly string[], defaultQuick = false): Promise<number> {
  const options = parsePerfOptions(argv, defaultQuick);
  const pin = planPinning(!options.pin);
  if (pin.harness !== undefined && !pinSelf(pin.harness)) console.warn(`perf: could not pin the harness to core ${pin.harness}; it may take the client's core around each window`);
  const started = Date.now();
  const loadStart = os.loadavg();
  const rig = await startRig(options.profScenario === undefined ? options.scenarios : [options.profScenario], pin);
  const scenarios = options.scenarios.filter((s) => s !== 'two-hop' || rig.twoHopSkipped === undefined);
  if (rig.twoHopSkipped !== undefined) console.log(`perf: ${rig.twoHopSkipped}`);
  console.log(`perf: server pid ${rig.serverPid} on port ${rig.serverPort}; ${pin.description}`);
  try {
    if (options.profScenario !== undefined) {
      if (options.profScenario === 'two-hop' && rig.twoHopSkipped !== undefined) return 1;
      await profile(rig, options, pin, options.profScenario, options.profShape);
      return 0;
    }
    const shapes: LoadShape[] = [
      ...options.concurrencies.map((c): LoadShape => ({ kind: 'closed', concurrency: c })),
      ...options.rates.map((r): LoadShape => ({ kind: 'open', rate: r })),
    ];
    // The server's JIT warms once here, not inside round 1's first scenario.
    await runCell(rig, { scenario: 'raw', shape: { kind: 'closed', concurrency: 64 }, round: 0, warmupMs: 0, durationMs: options.warmupMs * 2 }, pin.client);
    const fullFile = rig.meshConfigs['mesh-full'];
    const fullChainWarnings = fullFile === undefined ? [] : await meshWarnings('mesh-full', fullFile);
    if (fullChainWarnings.length > 0) console.log(`perf: mesh-full config, not in force yet:\n  ${fullChainWarnings.join('\n  ')}`);
    const cells: CellResult[] = [];
    const failures: string[] = [];
    for (let round = 1; round <= options.rounds; round++) {
      for (const shape of shapes) {
        for (let i = 0; i < scenarios.length; i++) {
          const scenario = scenarios[(i + round - 1) % scenarios.length]!;
          const durationMs = shape.kind === 'closed' ? options.closedMs : options.openMs;
          try {
            const cell = await runCell(rig, { scenario, shape, round, ...warmupOf(options, shape), durationMs }, pin.client);
            cells.push(cell);
            console.log(`[${round}/${options.rounds}] ${shapeKey(shape).padEnd(6)} ${scenario.padEnd(11)} ${describe(cell)}`);
          } catch (err) {
            const message = `round ${round} ${shapeKey(shape)} ${scenario}: ${err instanceof Error ? err.message : String(err)}`;
            failures.push(message);
            console.log(`perf: FAILED ${message}`);
          }
        }
      }
    }
    const aggs = aggregate(cells);
    const targets = checkTargets(aggs, cells, options.rates);
    const info: RunInfo = {
      startedAt: new Date(started).toISOString(),
      seconds: (Date.now() - started) / 1000,
      node: process.version,
      cpuModel: os.cpus()[0]?.model ?? 'unknown CPU',
      cores: os.availableParallelism(),
      pinning: pin.description,
      haproxy: rig.twoHopSkipped ?? rig.haproxyVersion ?? 'HAProxy not used',
      loadAverage: { start: loadStart, end: os.loadavg() },
      failures,
      fullChainWarnings,
    };
    fs.mkdirSync(options.outDir, { recursive: true });
    const md = renderPerfMarkdown(options, info, scenarios, aggs, cells, targets);
    fs.writeFileSync(path.join(options.outDir, 'perf.md'), md);
    // Raw samples stay out of the JSON (megabytes); the pooled percentiles are in the aggregates.
    const json = { info, options, targets, aggregates: [...aggs.values()], cells: cells.map(({ result: { samplesUs: _, ...result }, ...c }) => ({ ...c, result })) };
    fs.writeFileSync(path.join(options.outDir, 'perf.json'), JSON.stringify(json, null, 2) + '\n');
    const charts = options.charts ? await writeCharts([...aggs.values()], options.outDir) : [];
    console.log(options.quick ? '\ntargets (quick run: windows too short for these to mean much; judge them on --full):' : '\ntargets:');
    for (const t of targets) console.log(`  ${verdict(t.pass).padEnd(4)}  ${t.name}: ${t.rule}; measured ${t.measured}`);
    const rel = (f: string) => path.relative(process.cwd(), f);
    console.log(`\nperf: wrote ${[path.join(options.outDir, 'perf.md'), path.join(options.outDir, 'perf.json'), ...charts].map(rel).join(', ')} in ${fmt(info.seconds)} s`);
    if (options.profOnMiss && targets.some((t) => t.pass === false)) {
      await profile(rig, options, pin, 'mesh-full', options.profShape);
    }
    return failures.length === 0 ? 0 : 1;
  } finally {
    await rig.stop();
  }
}

if (require.main === module) {
  runPerf(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exitCode = 1;
    },
  );
}
