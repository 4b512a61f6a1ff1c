// xDS at scale (issue 22): a Mesh fed by a control plane in another process
// with CLUSTERS x ENDPOINTS endpoints and ROUTES routes, while a steady stream
// of thrift calls runs through it to a real server on loopback. Prints, for
// the initial sync, a one-endpoint EDS change in one cluster and a new version
// of the ROUTES-route MetaRDS config: the longest and p99 gap of the event
// loop, and the p99 of the call stream during the update beside the same
// stream without one (same run). Then heap per endpoint (after full
// collections), and delta against state of the world for a one-endpoint change:
// bytes on the wire and the client's CPU. Then XDS_SCALE_ROUNDS more of each
// update, each beside a window without one, the calls pooled (one window's
// p99 moves too much from window to window to judge by one pair).
// Sizes: XDS_SCALE_CLUSTERS (100), XDS_SCALE_ENDPOINTS per cluster (100),
// XDS_SCALE_ROUTES (100); issue 22's mesh is ENDPOINTS=1000 ROUTES=10000.
// XDS_SCALE_LABELS=1: every endpoint has a version label (envoy.lb metadata).
// Run: node --expose-gc dist/bench/xds-scale.bench.js (prints figures, asserts nothing).
import * as net from 'node:net';
import * as path from 'node:path';
import * as thrift from 'thrift';
import { Mesh } from '../lib';
import { createThriftConnection } from '../adapters/thrift';
import * as Calculator from '../gen/calculator/js/Calculator';
import { cpuNow, takeLongestStep, trackStepCpu, type LongestStep } from '../lib/config/sliced-work';
import { xdsProtos } from '../lib/xds/xds-protos';
import { CallStream } from './support/call-stream';
import { forkServer } from './support/fork-server';
import { gapCauses, GcPauses, type GapCauses } from './support/gc-pauses';
import { LoopStalls, type StallFigures } from './support/loop-stalls';
import { describeRepeated, repeatUpdates } from './support/repeated-updates';
import { runBench } from './support/run-bench';
import { YoungKeptProbe, youngKept } from './support/young-kept';

const CLUSTERS = Number(process.env.XDS_SCALE_CLUSTERS ?? 100);
const ENDPOINTS = Number(process.env.XDS_SCALE_ENDPOINTS ?? 100);
const ROUTES = Number(process.env.XDS_SCALE_ROUTES ?? 100);
const HOST = 'scale.demo.svc.cluster.local';
const STREAM_CONCURRENCY = 4;
const BASELINE_MS = 1500;
/**
 * Each update again this many times, each beside a window without one (repeated-updates.ts): XDS_SCALE_ROUNDS (6);
 * the EDS change three times as often (it is applied in 5-25 ms, and six of them hold only 100-200 calls).
 */
const ROUNDS = Number(process.env.XDS_SCALE_ROUNDS ?? 6);
const EDS_ROUNDS = 3 * ROUNDS;
const ROUND_BASELINE_MS = 500;
/** One-endpoint changes timed per protocol for the client-CPU figure (the median is reported). */
const CPU_REPEATS = Number(process.env.XDS_SCALE_CPU_REPEATS ?? 5);
/**
 * XDS_SCALE_VERBOSE=1: each gap over 20 ms on its own line, with the thread's CPU and the GC pauses in it, and per
 * phase the bytes its scavenges kept (young-kept.ts: a figure the machine's load does not move, unlike the pauses).
 */
const VERBOSE = process.env.XDS_SCALE_VERBOSE === '1';

const gc = (globalThis as { gc?: () => void }).gc;
function heapAfterGc(): number {
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
}

function nextConfig(mesh: Mesh): Promise<void> {
  return new Promise((resolve) => mesh.once('config', () => resolve()));
}

function reply<T>(child: import('node:child_process').ChildProcess, op: string): Promise<T> {
  return new Promise((resolve) => {
    const on = (m: { op?: string }) => {
      if (m.op !== op) return;
      child.off('message', on);
      resolve(m as T);
    };
    child.on('message', on);
  });
}

async function main(): Promise<void> {
  const f = (x: number) => x.toFixed(1);
  const live = await forkServer(path.join(__dirname, 'support', 'raw-thrift-server.js'));
  const cp = await forkServer(path.join(__dirname, 'support', 'xds-scale-control-plane.js'), [String(CLUSTERS), String(ENDPOINTS), String(ROUTES), String(live.port)]);
  const target = `127.0.0.1:${cp.port}`;
  // Loading the .proto files and the xDS client's code (grpc-js with it: a 30-40 ms block on first use) is once per
  // process, not part of applying config.
  xdsProtos();
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- what Mesh.start loads on first use with xds
  require('../lib/xds/xds-config-source');
  // Node compiles its IPv6 address regex on the first two net.isIPv6 calls (grpc-js makes them parsing the target,
  // 7 + 2 ms here), once per process.
  net.isIPv6('::1');
  net.isIPv6('::2');
  // Each step's CPU as well as its wall time: on a shared machine the gaps include other processes' turns.
  trackStepCpu(true);
  const before = heapAfterGc();
  // No mesh to call through before it starts: during the initial sync the stream goes straight to the server, so its
  // p99 shows what the sync's turns of the event loop cost calls in the same process.
  const directConnection = thrift.createConnection('127.0.0.1', live.port, { transport: thrift.TFramedTransport, protocol: thrift.TBinaryProtocol });
  const directClient = thrift.createClient(Calculator, directConnection);
  const direct = new CallStream(() => directClient.add(1, 2));
  direct.start();
  await direct.window(() => new Promise((r) => setTimeout(r, 300))); // warm up
  const keptLines: string[] = [];
  const started: { mesh?: Mesh; ms?: number; stalls?: StallFigures; step?: LongestStep; gc?: GcPauses; t0?: number } = {};
  const syncCalls = await direct.window(async () => {
    const gcPauses = new GcPauses().start();
    const kept = VERBOSE ? new YoungKeptProbe().start() : undefined;
    const startStalls = new LoopStalls(cpuNow).start();
    takeLongestStep();
    const t0 = performance.now();
    started.t0 = t0;
    started.mesh = await Mesh.start({ xds: { metaRds: target, ads: target, services: [`${HOST}:9090`] }, preconnect: false, logger: () => undefined });
    started.ms = performance.now() - t0;
    started.stalls = startStalls.stop();
    started.step = takeLongestStep();
    if (kept !== undefined) keptLines.push(`    sync: ${youngKept(kept.stop())}`);
    gcPauses.stop();
    started.gc = gcPauses;
  });
  await direct.stop();
  directConnection.end();
  const { mesh, ms: syncMs, stalls: sync, step: syncStep } = started;
  if (mesh === undefined || syncMs === undefined || sync === undefined || syncStep === undefined || started.gc === undefined) throw new Error('Mesh.start did not finish');
  const syncCauses = started.gc.causes(sync.longGaps);
  const gapLines: string[] = [];
  const listGaps = (phase: string, s: StallFigures, gc: GcPauses, t0: number) => {
    if (VERBOSE) for (const [a, b, cpu] of s.longGaps) gapLines.push(`    ${phase} +${(a - t0).toFixed(0)} ms: gap ${(b - a).toFixed(1)} ms, thread CPU ${cpu.toFixed(1)} ms; ${gc.inside(a, b) || 'no GC pause'}`);
  };
  listGaps('sync', sync, started.gc, started.t0 ?? 0);
  const endpoints = [...mesh.snapshot.clusters.values()].reduce((n, c) => n + c.endpoints.length, 0);
  const heap = heapAfterGc() - before;
  const client = thrift.createClient(Calculator, createThriftConnection(mesh, HOST, 9090, { transport: 'framed' }));
  const stream = new CallStream(() => client.add(1, 2), STREAM_CONCURRENCY);
  stream.start();
  await stream.window(() => new Promise((r) => setTimeout(r, 500))); // warm up

  const update = async (
    op: 'eds' | 'rds',
  ): Promise<{ stalls: StallFigures; step: LongestStep; causes: GapCauses; calls: { p99Ms: number; maxMs: number }; ms: number; eds?: { deltaBytes: number; sotwBytes: number } }> => {
    const gcPauses = new GcPauses().start();
    const kept = VERBOSE ? new YoungKeptProbe().start() : undefined;
    let stalls: StallFigures | undefined;
    let step: LongestStep | undefined;
    let eds: { deltaBytes: number; sotwBytes: number } | undefined;
    let ms = 0;
    let t0 = 0;
    const calls = await stream.window(async () => {
      const applied = nextConfig(mesh);
      const sent = reply<{ deltaBytes: number; sotwBytes: number }>(cp.child, op);
      const probe = new LoopStalls(cpuNow).start();
      takeLongestStep();
      cp.child.send({ op });
      const t = performance.now();
      t0 = t;
      if (op === 'eds') eds = await sent;
      await applied;
      ms = performance.now() - t;
      stalls = probe.stop();
      step = takeLongestStep();
      if (kept !== undefined) keptLines.push(`    ${op}: ${youngKept(kept.stop())}`);
      await new Promise((r) => setTimeout(r, 100));
    });
    gcPauses.stop();
    listGaps(op, stalls!, gcPauses, t0);
    return { stalls: stalls!, step: step!, causes: gcPauses.causes(stalls!.longGaps), calls, ms, ...(eds === undefined ? {} : { eds }) };
  };
  // The control plane builds and encodes its next versions before the windows (xds-scale-control-plane.ts).
  const prepare = async () => {
    const prepared = reply(cp.child, 'prepared');
    cp.child.send({ op: 'prepare' });
    await prepared;
  };
  await prepare();
  const baseline = await stream.window(() => new Promise((r) => setTimeout(r, BASELINE_MS)));
  const eds = await update('eds');
  const rds = await update('rds');
  const baseline2 = await stream.window(() => new Promise((r) => setTimeout(r, BASELINE_MS)));
  const again = (op: 'eds' | 'rds') =>
    repeatUpdates(
      stream,
      op === 'eds' ? EDS_ROUNDS : ROUNDS,
      ROUND_BASELINE_MS,
      async () => {
        const applied = nextConfig(mesh);
        cp.child.send({ op });
        await applied;
      },
      prepare,
    );
  const edsAgain = await again('eds');
  const rdsAgain = await again('rds');
  await stream.stop();

  // The client's CPU for a one-endpoint change: the delta mesh alone, then (that one closed) a state-of-the-world mesh alone.
  const deltaCpu = await cpuFor(mesh, cp.child);
  await mesh.close();
  const sotw = await Mesh.start({ xds: { metaRds: target, ads: target, services: [`${HOST}:9090`], protocol: 'sotw' }, preconnect: false, logger: () => undefined });
  const sotwCpu = await cpuFor(sotw, cp.child);
  await sotw.close();
  cp.child.kill();
  live.child.kill();

  const p = (s: StallFigures, step: LongestStep, c: GapCauses) =>
    `event-loop gap max ${f(s.maxMs)} ms, p99 ${f(s.p99Ms)} ms, ${s.over20} over 20 ms (${gapCauses(c)}), by the thread's own CPU max ${f(s.cpu?.maxMs ?? 0)} ms, ${s.cpu?.over20 ?? 0} over 20 ms; longest step ${f(step.ms)} ms (${step.label}), by CPU ${f(step.cpu?.ms ?? 0)} ms (${step.cpu?.label ?? ''})`;
  console.log(`xds-scale: ${CLUSTERS} clusters x ${ENDPOINTS} endpoints = ${endpoints} endpoints, ${ROUTES} routes; calls: ${STREAM_CONCURRENCY} concurrent thrift add through the mesh`);
  console.log(`  initial sync (Mesh.start): ${f(syncMs)} ms, ${p(sync, syncStep, syncCauses)}; calls straight to the server during it p99 ${f(syncCalls.p99Ms)} ms, max ${f(syncCalls.maxMs)} ms`);
  console.log(`  call stream without an update: p99 ${f(baseline.p99Ms)} ms (${baseline.calls} calls), again at the end: p99 ${f(baseline2.p99Ms)} ms`);
  console.log(`  one-endpoint EDS change in one cluster: ${f(eds.ms)} ms to apply, ${p(eds.stalls, eds.step, eds.causes)}; calls during it p99 ${f(eds.calls.p99Ms)} ms, max ${f(eds.calls.maxMs)} ms`);
  console.log(`  new version of the ${ROUTES}-route MetaRDS config: ${f(rds.ms)} ms to apply, ${p(rds.stalls, rds.step, rds.causes)}; calls during it p99 ${f(rds.calls.p99Ms)} ms, max ${f(rds.calls.maxMs)} ms`);
  if (ROUNDS > 0) console.log(`  ${describeRepeated('more one-endpoint EDS changes', edsAgain)}\n  ${describeRepeated(`more ${ROUTES}-route MetaRDS versions`, rdsAgain)}`);
  console.log(`  heap: ${f(heap / 1024 / 1024)} MB for the mesh, ${f(heap / endpoints)} B per endpoint${gc ? '' : ' (run with --expose-gc for a clean figure)'}`);
  console.log(`  one-endpoint change, EDS payload: delta ${eds.eds!.deltaBytes} B vs state of the world ${eds.eds!.sotwBytes} B (${f(eds.eds!.sotwBytes / eds.eds!.deltaBytes)}x)`);
  console.log(
    `${gapLines.length > 0 ? `  gaps over 20 ms:\n${gapLines.join('\n')}\n` : ''}${keptLines.length > 0 ? `  young collections until applied:\n${keptLines.join('\n')}\n` : ''}  one-endpoint change, client CPU (median of ${CPU_REPEATS}, less an idle wait as long): delta ${f(deltaCpu.ms)} ms vs state of the world ${f(sotwCpu.ms)} ms (${f(sotwCpu.ms / deltaCpu.ms)}x); idle ${f(deltaCpu.idleMs)} / ${f(sotwCpu.idleMs)} ms`,
  );
}

/**
 * This process's CPU (all threads: the collector's helpers are part of the
 * cost) from a one-endpoint change pushed until the mesh applied it, the
 * median of CPU_REPEATS, less the median CPU of an idle wait of the same wall
 * time taken right after each (timers, the stream's keepalives): the figure
 * is what the change itself cost the client.
 */
async function cpuFor(mesh: Mesh, child: import('node:child_process').ChildProcess): Promise<{ ms: number; idleMs: number }> {
  const cpuMs = () => {
    const used = process.cpuUsage();
    return (used.user + used.system) / 1000;
  };
  const changes: number[] = [];
  const idles: number[] = [];
  for (let i = 0; i < CPU_REPEATS; i++) {
    gc?.(); // no collector debt from before the change is charged to it
    const applied = nextConfig(mesh);
    const sent = reply(child, 'eds');
    const t0 = performance.now();
    const c0 = cpuMs();
    child.send({ op: 'eds' });
    await sent;
    await applied;
    changes.push(cpuMs() - c0);
    const wall = performance.now() - t0;
    const c1 = cpuMs();
    await new Promise((r) => setTimeout(r, wall));
    idles.push(cpuMs() - c1);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  const idleMs = median(idles);
  return { ms: median(changes) - idleMs, idleMs };
}

runBench(module, main, { exit: true });
