// YAML at scale (issue 22): Mesh.start and a reload of one file with
// SERVICES ServiceEntries of ENDPOINTS endpoints each (plus one service on a
// real thrift server on loopback), while a steady stream of thrift calls runs
// through the mesh during the reload. Prints for the start and the reload:
// wall time, CPU of the process (both threads: the parse runs in a worker),
// the longest and p99 gap of the event loop and the gaps over 20 ms, the
// longest step of sliced work; for the reload, the calls' p99 during it beside
// the same stream without one (same run); then the heap the mesh holds per
// endpoint after full collections. Then YAML_SCALE_ROUNDS more reloads (files
// alternating), each beside a window without one, the calls pooled: the p99
// of one window moves too much from window to window to judge by one pair.
// Sizes: YAML_SCALE_SERVICES (100), YAML_SCALE_ENDPOINTS per service (100);
// issue 22's file is ENDPOINTS=1000 (100k endpoints, 8 MB).
// Run: node --expose-gc dist/bench/yaml-scale.bench.js (prints figures, asserts nothing).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as thrift from 'thrift';
import { Mesh } from '../lib';
import { createThriftConnection } from '../adapters/thrift';
import * as Calculator from '../gen/calculator/js/Calculator';
import { cpuNow, takeLongestStep, trackStepCpu, type LongestStep } from '../lib/config/sliced-work';
import { CallStream, type CallWindow } from './support/call-stream';
import { forkServer } from './support/fork-server';
import { gapCauses, GcPauses, type GapCauses } from './support/gc-pauses';
import { LoopStalls, type StallFigures } from './support/loop-stalls';
import { describeRepeated, repeatUpdates } from './support/repeated-updates';
import { runBench } from './support/run-bench';

const SERVICES = Number(process.env.YAML_SCALE_SERVICES ?? 100);
const ENDPOINTS = Number(process.env.YAML_SCALE_ENDPOINTS ?? 100);
const LIVE = 'live.scale.svc.cluster.local';
const BASELINE_MS = 1500;
/** Reloads after the first, each beside a window without one (repeated-updates.ts): YAML_SCALE_ROUNDS (6). */
const ROUNDS = Number(process.env.YAML_SCALE_ROUNDS ?? 6);
const ROUND_BASELINE_MS = 700;

function manifest(shift: number, livePort: number): string {
  let out = `apiVersion: networking.istio.io/v1beta1\nkind: ServiceEntry\nmetadata:\n  name: live\n  namespace: scale\nspec:\n  hosts:\n  - ${LIVE}\n  ports:\n  - number: 9090\n    name: tcp-metaprotocol-thrift\n    protocol: TCP\n  resolution: STATIC\n  endpoints:\n  - address: 127.0.0.1\n    ports: {tcp-metaprotocol-thrift: ${livePort}}\n`;
  for (let i = 0; i < SERVICES; i++) {
    out += `---\napiVersion: networking.istio.io/v1beta1\nkind: ServiceEntry\nmetadata:\n  name: svc${i}\n  namespace: scale\nspec:\n  hosts:\n  - svc${i}.scale.svc.cluster.local\n  ports:\n  - number: 9090\n    name: tcp-thrift\n    protocol: TCP\n  resolution: STATIC\n  endpoints:\n`;
    for (let j = 0; j < ENDPOINTS; j++) out += `  - address: 10.${i & 255}.${(j + shift) >> 8 & 255}.${(j + shift) & 255}\n    ports: {tcp-thrift: ${9090 + (i >> 8)}}\n    labels:\n      version: v${j % 2}\n`;
  }
  return out;
}

/**
 * The start's file, written from a function of its own: built in main(), the 8 MB string stayed alive in main's
 * frame while the heap before the start was taken, and died later, so the mesh's heap read ~8 MB too small.
 */
function writeManifest(file: string, livePort: number): void {
  fs.writeFileSync(file, manifest(0, livePort));
}

interface Measured<T> {
  readonly value: T;
  readonly ms: number;
  readonly cpuMs: number;
  readonly stalls: StallFigures;
  readonly step: LongestStep;
  readonly causes: GapCauses;
  /** Each gap over 20 ms, with the thread's own CPU and the GC pauses in it (YAML_SCALE_VERBOSE=1). */
  readonly gaps: readonly string[];
  /** The longest GC pause of each kind in the whole window. */
  readonly longestGc: string;
}

/** YAML_SCALE_VERBOSE=1: each gap over 20 ms on its own line. */
const VERBOSE = process.env.YAML_SCALE_VERBOSE === '1';

async function measured<T>(work: () => Promise<T>): Promise<Measured<T>> {
  const gc = new GcPauses().start();
  const probe = new LoopStalls(cpuNow).start();
  takeLongestStep();
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  const value = await work();
  const ms = performance.now() - t0;
  const used = process.cpuUsage(cpu);
  const stalls = probe.stop();
  const step = takeLongestStep();
  gc.stop();
  const gaps = stalls.longGaps.map(([a, b, own]) => `+${(a - t0).toFixed(0)} ms: gap ${(b - a).toFixed(1)} ms, thread CPU ${own.toFixed(1)} ms; ${gc.inside(a, b) || 'no GC pause'}`);
  return { value, ms, cpuMs: (used.user + used.system) / 1000, stalls, step, causes: gc.causes(stalls.longGaps), gaps, longestGc: gc.longest() };
}

async function main(): Promise<void> {
  trackStepCpu(true);
  const gc = (globalThis as { gc?: () => void }).gc;
  const memory = () => (gc?.(), gc?.(), process.memoryUsage());
  const live = await forkServer(path.join(__dirname, 'support', 'raw-thrift-server.js'));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'yaml-scale-'));
  const file = path.join(dir, 'mesh.yaml');
  writeManifest(file, live.port);
  const bytes = fs.statSync(file).size;
  const before = memory();
  const start = await measured(() => Mesh.start({ config: file, preconnect: false, logger: () => undefined }));
  const mesh = start.value;
  const endpoints = [...mesh.snapshot.clusters.values()].reduce((n, c) => n + c.endpoints.length, 0);
  const after = memory();
  const held = after.heapUsed - before.heapUsed;
  const offHeap = after.arrayBuffers - before.arrayBuffers;

  const client = thrift.createClient(Calculator, createThriftConnection(mesh, LIVE, 9090, { transport: 'framed' }));
  // Every service's addresses shifted by one place (one address gone, one new) while the version labels stay with
  // the places, so every endpoint's labels change and none can be shared with the config in force: the most a
  // reload of this file can rebuild. Built before the stream starts (about 180 ms
  // of string work at 100k endpoints, which would otherwise hold up the calls in flight).
  const moved = manifest(1, live.port);
  const original = ROUNDS > 0 ? manifest(0, live.port) : '';
  const stream = new CallStream(() => client.add(1, 2));
  stream.start();
  await stream.window(() => new Promise((r) => setTimeout(r, 500))); // warm up
  const baseline = await stream.window(() => new Promise((r) => setTimeout(r, BASELINE_MS)));
  fs.writeFileSync(file, moved);
  let reload: Measured<unknown> | undefined;
  const during: CallWindow = await stream.window(async () => {
    reload = await measured(() => mesh.reload());
  });
  const baseline2 = await stream.window(() => new Promise((r) => setTimeout(r, BASELINE_MS)));
  // The same reload again, the files alternating, on the parser thread the first reload left warm.
  const repeated = await repeatUpdates(stream, ROUNDS, ROUND_BASELINE_MS, async (round) => {
    fs.writeFileSync(file, round % 2 === 0 ? original : moved);
    await mesh.reload();
  });
  await stream.stop();
  await mesh.close();
  live.child.kill();
  fs.rmSync(dir, { recursive: true, force: true });

  const f = (x: number) => x.toFixed(1);
  const p = (m: Measured<unknown>) =>
    `${f(m.ms)} ms (CPU ${f(m.cpuMs)} ms), event-loop gap max ${f(m.stalls.maxMs)} ms, p99 ${f(m.stalls.p99Ms)} ms, ${m.stalls.over20} over 20 ms (${gapCauses(m.causes)}), by the thread's own CPU max ${f(m.stalls.cpu?.maxMs ?? 0)} ms; longest GC pauses ${m.longestGc}; longest sliced step ${f(m.step.ms)} ms (${m.step.label})${VERBOSE ? m.gaps.map((g) => `\n    ${g}`).join('') : ''}`;
  console.log(`yaml-scale: ${SERVICES} ServiceEntries x ${ENDPOINTS} endpoints = ${endpoints} endpoints, ${f(bytes / 1024 / 1024)} MB of YAML; load average ${os.loadavg().map(f).join(' ')}`);
  console.log(`  Mesh.start: ${p(start)}`);
  console.log(`  reload: ${p(reload!)}`);
  console.log(`  calls (4 concurrent thrift add through the mesh): p99 ${f(during.p99Ms)} ms, max ${f(during.maxMs)} ms during the reload (${during.calls} calls); without: p99 ${f(baseline.p99Ms)} ms, ${f(baseline2.p99Ms)} ms after`);
  if (ROUNDS > 0) console.log(`  ${describeRepeated('more reloads', repeated)}`);
  console.log(
    `  heap: ${f(held / 1024 / 1024)} MB, ${f(held / endpoints)} B per endpoint${gc ? '' : ' (run with --expose-gc for a clean figure)'}; off the V8 heap (array buffers: the watcher's copy of the file's bytes, the endpoint census): ${f(offHeap / 1024 / 1024)} MB`,
  );
}

runBench(module, main, { exit: true });
