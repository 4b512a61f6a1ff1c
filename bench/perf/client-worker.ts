// One measured run of one scenario under one load shape, in its own process
// (forked by run-perf, pinned by taskset) so scenarios never share JIT state,
// GC heaps or an event loop. It warms up, tells the parent the measured window
// begins (the parent then samples the CPU of the server and proxies), runs
// the window, and reports its results and its own CPU time.
//
// Closed loop: warm-up, 'ready', wait for the parent's 'go', window.
// Open loop: warm-up and window are one schedule (see openLoop), so the
// worker only announces 'window-near' (300 ms ahead) and 'window' and keeps
// sending on time.
import * as fs from 'node:fs';
import { Session } from 'node:inspector/promises';
import { watchClientWindow, type ClientWindowStats } from './client-probe';
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
  /** Open loop: a closed-loop burst (concurrency 16) this long before the schedule, so V8 compiles the hot code sooner. */
  readonly burstMs?: number;
  /** Write a .cpuprofile of the measured window here. */
  readonly profileFile?: string;
}

export type WorkerMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'window-near' }
  | { readonly type: 'window' }
  | { readonly type: 'done'; readonly result: ShapeResult; readonly cpuUs: number; readonly maxRssKb: number; readonly window: ClientWindowStats }
  | { readonly type: 'failed'; readonly error: string };

function send(message: WorkerMessage): Promise<void> {
  return new Promise((resolve) => process.send!(message, () => resolve()));
}

function waitForGo(): Promise<void> {
  return new Promise((resolve) => process.once('message', () => resolve()));
}

/** What the worker measures about itself over the window: CPU, GC, helper threads, and optionally a CPU profile. */
class WindowMeter {
  private cpu0: NodeJS.CpuUsage | undefined;
  private stopWatching: (() => ClientWindowStats) | undefined;
  private session: Session | undefined;

  async prepare(profileFile: string | undefined): Promise<void> {
    if (profileFile === undefined) return;
    this.session = new Session();
    this.session.connect();
    await this.session.post('Profiler.enable');
    await this.session.post('Profiler.setSamplingInterval', { interval: 100 });
  }

  /** Synchronous, so the open loop can call it between two sends. */
  start(): void {
    // The inspector answers Profiler.start within this turn; nothing awaits it.
    void this.session?.post('Profiler.start');
    this.stopWatching = watchClientWindow();
    this.cpu0 = process.cpuUsage();
  }

  async stop(profileFile: string | undefined): Promise<{ cpuUs: number; window: ClientWindowStats }> {
    const cpu = process.cpuUsage(this.cpu0);
    const window = this.stopWatching!();
    if (this.session !== undefined) {
      const { profile } = await this.session.post('Profiler.stop');
      fs.writeFileSync(profileFile!, JSON.stringify(profile));
      this.session.disconnect();
    }
    return { cpuUs: cpu.user + cpu.system, window };
  }
}

async function measure(call: Caller, job: WorkerJob, meter: WindowMeter): Promise<ShapeResult> {
  const { shape } = job;
  if (shape.kind === 'open') {
    if ((job.burstMs ?? 0) > 0) await closedLoop(call, 16, job.burstMs!);
    return openLoop(call, shape.rate, job.durationMs, {
      warmupMs: job.warmupMs,
      // The parent's scan of every process's CPU takes milliseconds of a core: done before the window, not at its edge.
      onWindowNear: () => void send({ type: 'window-near' }),
      onWindowStart: () => {
        meter.start();
        // Not awaited: the sender must stay on schedule.
        void send({ type: 'window' });
      },
    });
  }
  if (job.warmupMs > 0) await closedLoop(call, shape.concurrency, job.warmupMs);
  // Listen before announcing, so the parent's 'go' cannot arrive unheard.
  const go = waitForGo();
  await send({ type: 'ready' });
  await go;
  meter.start();
  return closedLoop(call, shape.concurrency, job.durationMs);
}

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2]!) as WorkerJob;
  const client = await openClient(job.scenario, job.target);
  const meter = new WindowMeter();
  await meter.prepare(job.profileFile);
  const result = await measure(client.call, job, meter);
  const { cpuUs, window } = await meter.stop(job.profileFile);
  await send({ type: 'done', result, cpuUs, maxRssKb: process.resourceUsage().maxRSS, window });
  await client.close();
  process.disconnect();
}

main().catch(async (err: unknown) => {
  await send({ type: 'failed', error: err instanceof Error ? (err.stack ?? err.message) : String(err) }).catch(() => undefined);
  process.exit(1);
});
