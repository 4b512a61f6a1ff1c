// One measured run of one scenario under one load shape, in its own process
// (forked by run-perf, pinned by taskset) so scenarios never share JIT state,
// GC heaps or an event loop. It warms up, tells the parent it is ready (the
// parent then samples the CPU of the server and proxies), runs the measured
// window on 'go', and reports its results and its own CPU time.
import * as fs from 'node:fs';
import { Session } from 'node:inspector/promises';
import { closedLoop, openLoop, type Caller, type ShapeResult } from './load-shapes';
import { openClient, type ClientTarget } from './scenario-client';
import type { ScenarioName } from './scenarios';

export type LoadShape = { readonly kind: 'closed'; readonly concurrency: number } | { readonly kind: 'open'; readonly rate: number };

export interface WorkerJob {
  readonly scenario: ScenarioName;
  readonly target: ClientTarget;
  readonly shape: LoadShape;
  readonly warmupMs: number;
  readonly durationMs: number;
  /** Write a .cpuprofile of the measured window here. */
  readonly profileFile?: string;
}

export type WorkerMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'done'; readonly result: ShapeResult; readonly cpuUs: number; readonly maxRssKb: number }
  | { readonly type: 'failed'; readonly error: string };

function run(call: Caller, shape: LoadShape, ms: number): Promise<ShapeResult> {
  return shape.kind === 'closed' ? closedLoop(call, shape.concurrency, ms) : openLoop(call, shape.rate, ms);
}

function send(message: WorkerMessage): Promise<void> {
  return new Promise((resolve) => process.send!(message, () => resolve()));
}

function waitForGo(): Promise<void> {
  return new Promise((resolve) => process.once('message', () => resolve()));
}

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2]!) as WorkerJob;
  const client = await openClient(job.scenario, job.target);
  if (job.warmupMs > 0) await run(client.call, job.shape, job.warmupMs);
  let session: Session | undefined;
  if (job.profileFile !== undefined) {
    session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 100 });
  }
  // Listen before announcing, so the parent's 'go' cannot arrive unheard.
  const go = waitForGo();
  await send({ type: 'ready' });
  await go;
  if (session !== undefined) await session.post('Profiler.start');
  const cpu0 = process.cpuUsage();
  const result = await run(client.call, job.shape, job.durationMs);
  const cpu = process.cpuUsage(cpu0);
  if (session !== undefined) {
    const { profile } = await session.post('Profiler.stop');
    fs.writeFileSync(job.profileFile!, JSON.stringify(profile));
    session.disconnect();
  }
  await send({ type: 'done', result, cpuUs: cpu.user + cpu.system, maxRssKb: process.resourceUsage().maxRSS });
  await client.close();
  process.disconnect();
}

main().catch(async (err: unknown) => {
  await send({ type: 'failed', error: err instanceof Error ? (err.stack ?? err.message) : String(err) }).catch(() => undefined);
  process.exit(1);
});
