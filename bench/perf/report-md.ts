// Writes bench/results/perf.md: the targets, then throughput, latency, CPU
// per 1,000 calls and peak RSS tables, then how the run was made.
import { FULL_CHAIN } from './scenarios';
import type { PerfOptions } from './perf-options';
import { addedP99Us, find, rolesOf, verdict, type Aggregate, type TargetCheck } from './results';
import { PROCESS_ROLES, type CellResult, type ProcessRole } from './run-cell';
import { SCENARIO_LABELS, type ScenarioName } from './scenarios';
import { fmt, fmtSpread, spread } from './stats';

export interface RunInfo {
  readonly startedAt: string;
  readonly seconds: number;
  readonly node: string;
  readonly cpuModel: string;
  readonly cores: number;
  readonly pinning: string;
  readonly haproxy: string;
  readonly loadAverage: { readonly start: number[]; readonly end: number[] };
  readonly failures: readonly string[];
  /** What the mesh-full config asks for that the engine does not do yet (its warnings). */
  readonly fullChainWarnings: readonly string[];
}

const ROLE_LABEL: Record<ProcessRole, string> = {
  client: 'client',
  server: 'server',
  'sidecar-client': 'HAProxy (client side)',
  'sidecar-server': 'HAProxy (server side)',
};

/**
 * Why the run cannot be trusted, or undefined: other processes took a real
 * share of the cores while runs were measured. (The load average says less:
 * at the end it counts the benchmark itself, and at the start whatever ran
 * the minute before.)
 */
export function busyMachine(cells: readonly CellResult[]): string | undefined {
  const shares = cells.map((c) => c.otherCpuMs / c.windowMs).filter(Number.isFinite);
  if (shares.length === 0) return undefined;
  const s = spread(shares);
  // Cores' worth of CPU that other processes used while a run was measured.
  if (s.median <= 0.05 && s.max <= 0.25) return undefined;
  return `other processes used ${s.median.toFixed(2)} of a core during the median run (up to ${s.max.toFixed(2)}), next to the benchmark's pinned processes`;
}

/** A Markdown table; the first `textColumns` columns are left-aligned, the numbers right-aligned. */
function table(header: readonly string[], rows: readonly (readonly string[])[], textColumns = 1): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map((_, i) => (i < textColumns ? '---' : '---:'))), ...rows.map(line)].join('\n');
}

export function renderPerfMarkdown(
  options: PerfOptions,
  info: RunInfo,
  scenarios: readonly ScenarioName[],
  aggs: Map<string, Aggregate>,
  cells: readonly CellResult[],
  targets: readonly TargetCheck[],
): string {
  const out: string[] = [];
  const cs = options.concurrencies;
  out.push(`# meta-mesh performance: against raw thrift and a two-hop sidecar path`);
  out.push('');
  out.push(
    `${options.quick ? '**Quick run** (short windows: a smoke check, not numbers to quote). ' : ''}` +
      `${info.startedAt}, ${options.rounds} rounds, ${fmt(info.seconds)} s. One Node thrift server (framed binary Calculator, \`add\`) in its own process; ` +
      `every measured run is a fresh client process. Cells are **median (min..max) over rounds**.`,
  );
  out.push('');
  const busy = busyMachine(cells);
  if (busy !== undefined) {
    out.push(`> **The machine was busy**: ${busy}. Absolute numbers and even ratios here are unreliable; rerun on a quiet machine before quoting them.`);
    out.push('');
  }
  out.push('Scenarios:');
  for (const s of scenarios) out.push(`- \`${s}\`: ${SCENARIO_LABELS[s]}`);
  out.push('');

  out.push('## Targets');
  out.push('');
  out.push(table(['target', 'rule', 'measured', 'result'], targets.map((t) => [t.name, t.rule, t.measured, `**${verdict(t.pass)}**`]), 4));
  out.push('');

  out.push('## Throughput, closed loop (calls/s)');
  out.push('');
  out.push(table(['scenario', ...cs.map((c) => `c=${c}`)], scenarios.map((s) => [s, ...cs.map((c) => fmtSpread(find(aggs, s, `c${c}`)?.callsPerSecond ?? spread([])))])));
  out.push('');
  out.push('Ratio to raw (medians):');
  out.push('');
  out.push(
    table(
      ['scenario', ...cs.map((c) => `c=${c}`)],
      scenarios.map((s) => [
        s,
        ...cs.map((c) => {
          const a = find(aggs, s, `c${c}`);
          const r = find(aggs, 'raw', `c${c}`);
          return a === undefined || r === undefined ? 'n/a' : `${(a.callsPerSecond.median / r.callsPerSecond.median).toFixed(2)}×`;
        }),
      ]),
    ),
  );
  out.push('');
  out.push('Closed-loop latency p50 / p99 (µs; queueing at high concurrency is included, so compare across rows only):');
  out.push('');
  out.push(
    table(
      ['scenario', ...cs.map((c) => `c=${c}`)],
      scenarios.map((s) => [
        s,
        ...cs.map((c) => {
          const a = find(aggs, s, `c${c}`);
          return a === undefined ? 'n/a' : `${fmt(a.latencyUs.p50Us.median)} / ${fmt(a.latencyUs.p99Us.median)}`;
        }),
      ]),
    ),
  );
  out.push('');

  out.push('## Latency, open loop (µs, measured from each call\'s intended send time)');
  out.push('');
  const rawPeak = Math.max(...cs.map((c) => find(aggs, 'raw', `c${c}`)?.callsPerSecond.median ?? 0));
  for (const rate of options.rates) {
    out.push(`### ${fmt(rate)} calls/s offered`);
    out.push('');
    if (rawPeak > 0 && rate > 0.8 * rawPeak) {
      out.push(`> This rate is above 80% of the best raw closed-loop throughput measured in this run (${fmt(rawPeak)} calls/s): the latencies below are mostly queueing. Pick lower \`--rates\` on this machine.`);
      out.push('');
    }
    out.push(
      table(
        ['scenario', 'achieved calls/s', 'p50', 'p90', 'p99', 'p99.9', 'pooled p50 / p99 / p99.9', 'p99 added vs raw: median (min..max) per round; pooled', 'worst send lag (ms)', 'steal (ms)', 'other CPU (ms)', 'errors'],
        scenarios.map((s) => {
          const a = find(aggs, s, `r${rate}`);
          if (a === undefined) return [s, 'n/a', 'n/a', 'n/a', 'n/a', 'n/a', 'n/a', 'n/a', 'n/a', 'n/a', 'n/a', 'n/a'];
          const d = addedP99Us(cells, s, rate);
          const added = s === 'raw' ? '—' : `${signedFmt(d.perRound.median)} (${fmt(d.perRound.min)}..${fmt(d.perRound.max)}); ${signedFmt(d.pooled)}`;
          const p = a.pooledLatencyUs;
          const pooledCell = p === undefined ? 'n/a' : `${fmt(p.p50Us)} / ${fmt(p.p99Us)} / ${fmt(p.p999Us)}`;
          // A client that fell behind its schedule measured its own backlog more than the path.
          const behind = a.callsPerSecond.min < 0.95 * rate ? ' ⚠' : '';
          return [
            s,
            `${fmt(a.callsPerSecond.median)}${behind}`,
            fmtSpread(a.latencyUs.p50Us),
            fmtSpread(a.latencyUs.p90Us),
            fmtSpread(a.latencyUs.p99Us),
            fmtSpread(a.latencyUs.p999Us),
            pooledCell,
            added,
            fmt(a.maxSendLagMs.median, 1),
            fmtSpread(a.stealMs),
            fmtSpread(a.otherCpuMs),
            String(a.errors),
          ];
        }),
      ),
    );
    out.push('');
  }
  out.push('Per-percentile cells are median (min..max) over rounds. "Pooled" puts every round\'s latencies into one distribution. "p99 added"');
  out.push('is, per round, the scenario\'s p99 minus raw\'s p99 in the same round (rounds interleave the scenarios, so each pair met the');
  out.push('same machine moment); the targets judge its median over rounds, and the pooled difference follows it for comparison (one');
  out.push('round with a stall of tens of ms dominates a pooled p99). The sender polls when a call is due within 2 ms, so it sends on time');
  out.push('to within a few µs; "worst send lag" is how late it was at worst, and that delay is counted in the latencies, as');
  out.push('coordinated-omission correction requires. "Steal" is the time the hypervisor kept this VM\'s CPUs from running during the');
  out.push('window (`/proc/stat`, both cores): it comes as stalls of milliseconds that land in whatever calls are in flight, in every');
  out.push('scenario alike. "Other CPU" is what every other process and kernel thread ran over the window (`/proc/<pid>/stat`).');
  out.push('When raw\'s own p99 moves between rounds by more than the two hops add, the p99 target is reported as below the noise floor');
  out.push('rather than judged.');
  out.push('⚠: in some round the scenario completed under 95% of the offered rate (the client or the path could not keep up), so its latencies there are mostly backlog.');
  out.push('');

  out.push(...tailSection(aggs, scenarios, options.rates));

  out.push('## CPU time per 1,000 calls (ms), every process on the path');
  out.push('');
  const shapes = [...(cs.includes(64) ? ['c64'] : cs.slice(-1).map((c) => `c${c}`)), ...options.rates.map((r) => `r${r}`)];
  for (const shape of shapes) {
    out.push(`### ${shape.startsWith('c') ? `closed loop, concurrency ${shape.slice(1)}` : `open loop, ${fmt(Number(shape.slice(1)))} calls/s`}`);
    out.push('');
    const rawTotal = find(aggs, 'raw', shape)?.cpuPerCallUs.total.median;
    out.push(
      table(
        ['scenario', ...PROCESS_ROLES.map((r) => ROLE_LABEL[r]), 'total', 'total × raw'],
        scenarios.map((s) => {
          const a = find(aggs, s, shape);
          if (a === undefined) return [s, ...PROCESS_ROLES.map(() => 'n/a'), 'n/a', 'n/a'];
          const roles = rolesOf(s);
          return [
            s,
            ...PROCESS_ROLES.map((r) => (roles.includes(r) ? fmtSpread(a.cpuPerCallUs[r]!, 1) : '—')),
            fmtSpread(a.cpuPerCallUs.total, 1),
            rawTotal === undefined ? 'n/a' : `${(a.cpuPerCallUs.total.median / rawTotal).toFixed(2)}×`,
          ];
        }),
      ),
    );
    out.push('');
  }
  out.push('Client CPU is `process.cpuUsage()` inside the worker over the measured window; server and HAProxy CPU is the sum of');
  out.push('`/proc/<pid>/task/*/schedstat` run time over the same window. µs per call equals ms per 1,000 calls.');
  out.push('');

  out.push('## Peak RSS (MB)');
  out.push('');
  out.push(
    table(
      ['scenario', ...PROCESS_ROLES.map((r) => `${ROLE_LABEL[r]} median (max)`)],
      scenarios.map((s) => {
        const mine = cells.filter((c) => c.scenario === s);
        const roles = rolesOf(s);
        return [
          s,
          ...PROCESS_ROLES.map((r) => {
            if (!roles.includes(r) || mine.length === 0) return '—';
            const v = spread(mine.map((c) => (c.rssKb[r] ?? NaN) / 1024));
            return `${fmt(v.median, 1)} (${fmt(v.max, 1)})`;
          }),
        ];
      }),
    ),
  );
  out.push('');
  out.push('Client: the worker\'s lifetime peak (`process.resourceUsage().maxRSS`), over all its runs. Server and HAProxy: VmHWM,');
  out.push('reset through `/proc/<pid>/clear_refs` before each run, so it is that run\'s peak.');
  out.push('');

  out.push('## How it was run');
  out.push('');
  out.push(`- Node ${info.node}; ${info.cores} cores (${info.cpuModel}); ${info.haproxy}`);
  out.push(`- Pinning: ${info.pinning}`);
  out.push(
    `- ${options.rounds} rounds; in each round every load shape runs every scenario back to back, and the scenario order rotates by one ` +
      `each round (round 1: A B C D, round 2: B C D A, ...), so drift in machine load spreads over all scenarios.`,
  );
  out.push(
    `- Each run: a fresh client process. Closed loop (concurrency ${cs.join(', ')}): ${options.warmupMs} ms warm-up under the same load, then ` +
      `${options.closedMs} ms measured. Open loop (${options.rates.map((r) => fmt(r)).join(' and ')} calls/s): one schedule of ${options.openWarmupMs} ms ` +
      `unmeasured calls then ${options.openMs} ms measured, so V8 has compiled the hot code before the window and nothing restarts at its edge.`,
  );
  out.push('- Every client uses one TCP connection and pipelines calls on it (thrift seqids; meta-mesh multiplexes one upstream socket).');
  out.push(`- Load average at start ${info.loadAverage.start.map((l) => l.toFixed(2)).join(' ')}, at end ${info.loadAverage.end.map((l) => l.toFixed(2)).join(' ')} (other work on the machine shows up here).`);
  out.push(`- Command: \`node dist/bench/perf/run-perf.js ${options.quick ? '--quick' : '--full'}\`; raw numbers in \`perf.json\`; charts \`latency-percentiles.svg\`, \`throughput-by-concurrency.svg\`.`);
  if (scenarios.includes('mesh-full')) {
    out.push('');
    out.push(
      info.fullChainWarnings.length === 0
        ? '`mesh-full` ran with every policy of `bench/perf/full-chain.yaml` in force.'
        : '`mesh-full` config (`bench/perf/full-chain.yaml`) asks for more than the engine does today; these parts were **not** in force in this run, so their cost is not measured yet:',
    );
    if (info.fullChainWarnings.length > 0) out.push('');
    for (const w of info.fullChainWarnings) out.push(`- ${w}`);
    out.push('');
    out.push(
      FULL_CHAIN.standInMetrics
        ? 'Its Mesh options are in `bench/perf/scenarios.ts` (`FULL_CHAIN`); an OTel-API metrics filter (no SDK) stands in for the mesh\'s own metrics filter.'
        : 'Its Mesh options are in `bench/perf/scenarios.ts` (`FULL_CHAIN`): the mesh\'s own metrics filter (OTel API, no SDK registered), a client-side local rate limit, and the DestinationRule policies above.',
    );
  }
  if (info.failures.length > 0) {
    out.push('');
    out.push('Runs that failed (left out of the medians):');
    out.push('');
    for (const f of info.failures) out.push(`- ${f.split('\n')[0]}`);
  }
  out.push('');
  return out.join('\n');
}

/** Where the open-loop tail comes from, inside the client and outside it. */
function tailSection(aggs: Map<string, Aggregate>, scenarios: readonly ScenarioName[], rates: readonly number[]): string[] {
  const out = ['## Where the p99 tail comes from (open loop, inside the client)', ''];
  for (const rate of rates) {
    out.push(`### ${fmt(rate)} calls/s offered`);
    out.push('');
    out.push(
      table(
        ['scenario', 'p99', 'calls ≥ p99: share of their latency before the send', 'GC pauses', 'GC total (ms)', 'longest GC (ms)', 'helper threads CPU (ms)', 'preemptions'],
        scenarios.map((s) => {
          const a = find(aggs, s, `r${rate}`);
          const t = a?.tail;
          if (a === undefined || t === undefined) return [s, 'n/a', 'n/a', 'n/a', 'n/a', 'n/a', 'n/a', 'n/a'];
          const pct = (v: number) => (Number.isFinite(v) ? `${Math.round(v * 100)}%` : 'n/a');
          const share = t.sendLagShare.n === 0 ? 'n/a' : `${pct(t.sendLagShare.median)} (${pct(t.sendLagShare.min)}..${pct(t.sendLagShare.max)})`;
          return [s, fmtSpread(a.latencyUs.p99Us), share, fmtSpread(t.gcCount), fmtSpread(t.gcTotalMs, 1), fmtSpread(t.gcMaxMs, 1), fmtSpread(t.helperCpuMs), fmtSpread(t.involuntarySwitches)];
        }),
      ),
    );
    out.push('');
  }
  out.push('Per run, over the measured window. "Share before the send": of the calls at or above the run\'s p99, how much of their');
  out.push('summed latency passed before the sender got to them (the client\'s own event loop was busy or descheduled); the rest');
  out.push('passed between the send and the answer (client receive path, loopback, server). GC pauses are the client\'s main-thread');
  out.push('pauses (`perf_hooks` gc entries). Helper threads are every client thread but the main one (V8\'s GC and compiler');
  out.push('threads, libuv), from `/proc/self/task/*/schedstat`: on the client\'s single pinned core they run by preempting the main');
  out.push('thread, and "preemptions" counts the client\'s involuntary context switches.');
  out.push('');
  return out;
}

function signedFmt(us: number): string {
  return Number.isFinite(us) ? `${us < 0 ? '−' : '+'}${fmt(Math.abs(us))}` : 'n/a';
}
