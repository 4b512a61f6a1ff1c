// One cell of the run matrix: forks a client worker for (scenario, shape),
// samples the CPU time of the server and both proxies around the worker's
// measured window (the worker measures its own), and resets their peak RSS
// first so each cell's peak is its own.
import * as path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { ClientWindowStats } from './client-probe';
import type { LoadShape, WorkerJob, WorkerMessage } from './client-worker';
import type { ShapeResult } from './load-shapes';
import { cpuBetweenMs, cpuTimeUs, otherProcessesCpuUs, peakRssKb, resetPeakRss, stealMs } from './proc-stats';
import { forkPinned, type Rig } from './rig';
import type { ScenarioName } from './scenarios';

/** A process on the path: the client worker, the server, or a proxy hop. */
export type ProcessRole = 'client' | 'server' | 'sidecar-client' | 'sidecar-server';
export const PROCESS_ROLES: readonly ProcessRole[] = ['client', 'server', 'sidecar-client', 'sidecar-server'];

export interface CellResult {
  readonly scenario: ScenarioName;
  readonly shape: LoadShape;
  readonly round: number;
  readonly result: ShapeResult;
  /** CPU time in µs over the measured window, per process. */
  readonly cpuUs: Partial<Record<ProcessRole, number>>;
  /** Peak RSS in KB (client: its whole life; others: since the cell began). */
  readonly rssKb: Partial<Record<ProcessRole, number>>;
  /** Steal time over the measured window, both cores together (ms); NaN where /proc/stat has none. */
  readonly stealMs: number;
  /**
   * CPU time (ms) every other process and kernel thread used over the
   * window (not the harness, the worker, the server or the proxies); for an
   * open loop, from 300 ms before the window. Near zero on a quiet machine.
   */
  readonly otherCpuMs: number;
  /** Length of the measured window (ms), as the worker timed it. */
  readonly windowMs: number;
  /** GC pauses, helper-thread CPU and preemptions inside the client over the window. */
  readonly client?: ClientWindowStats;
}

export interface CellJob {
  readonly scenario: ScenarioName;
  readonly shape: LoadShape;
  readonly round: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  /** Open loop: see WorkerJob.burstMs. */
  readonly burstMs?: number;
  readonly profileFile?: string;
}

function jobFor(rig: Rig, cell: CellJob): WorkerJob {
  const port = cell.scenario === 'two-hop' ? rig.hops[0]!.port : rig.serverPort;
  const configFile = rig.meshConfigs[cell.scenario];
  return {
    scenario: cell.scenario,
    target: configFile === undefined ? { port } : { port, configFile },
    shape: cell.shape,
    warmupMs: cell.warmupMs,
    ...(cell.burstMs === undefined ? {} : { burstMs: cell.burstMs }),
    durationMs: cell.durationMs,
    ...(cell.profileFile === undefined ? {} : { profileFile: cell.profileFile }),
  };
}

export function runCell(rig: Rig, cell: CellJob, clientCore: number | undefined): Promise<CellResult> {
  const others: [ProcessRole, number][] = [['server', rig.serverPid], ...rig.hops.map((h): [ProcessRole, number] => [h.name as ProcessRole, h.pid])];
  for (const [, pid] of others) resetPeakRss(pid);
  const worker: ChildProcess = forkPinned(path.join(__dirname, 'client-worker.js'), [JSON.stringify(jobFor(rig, cell))], clientCore);
  // Generous: warm-up + window + open-loop drain + process start, so only a hung worker hits it.
  const limitMs = cell.warmupMs + (cell.burstMs ?? 0) + cell.durationMs + 30_000;
  return new Promise((resolve, reject) => {
    let before: number[] = [];
    let stealBefore = NaN;
    const ours = new Set([process.pid, worker.pid ?? -1, ...others.map(([, pid]) => pid)]);
    let othersBefore = new Map<number, number>();
    let outcome: CellResult | undefined;
    let failure: string | undefined;
    const timer = setTimeout(() => {
      failure = `worker did not finish within ${limitMs} ms`;
      worker.kill('SIGKILL');
    }, limitMs);
    const windowOpens = (): void => {
      before = others.map(([, pid]) => cpuTimeUs(pid));
      stealBefore = stealMs();
    };
    worker.on('message', (m: WorkerMessage) => {
      if (m.type === 'window-near') {
        // Reading every /proc/<pid>/stat costs milliseconds of CPU; an open-loop worker asks for it 300 ms
        // ahead (always before 'window') so it lands in the warm-up, and "other CPU" then covers those 300 ms too.
        othersBefore = otherProcessesCpuUs(ours);
      } else if (m.type === 'window') {
        // An open-loop worker is already sending its measured calls.
        windowOpens();
      } else if (m.type === 'ready') {
        // A closed-loop worker waits for 'go'.
        windowOpens();
        othersBefore = otherProcessesCpuUs(ours);
        worker.send('go');
      } else if (m.type === 'done') {
        const after = others.map(([, pid]) => cpuTimeUs(pid));
        const steal = stealMs() - stealBefore;
        const otherCpuMs = cpuBetweenMs(othersBefore, otherProcessesCpuUs(ours));
        const cpuUs: Partial<Record<ProcessRole, number>> = { client: m.cpuUs };
        const rssKb: Partial<Record<ProcessRole, number>> = { client: m.maxRssKb };
        others.forEach(([role, pid], i) => {
          cpuUs[role] = after[i]! - before[i]!;
          rssKb[role] = peakRssKb(pid);
        });
        const windowMs = m.result.seconds * 1000;
        outcome = { scenario: cell.scenario, shape: cell.shape, round: cell.round, result: m.result, cpuUs, rssKb, stealMs: steal, otherCpuMs, windowMs, client: m.window };
      } else if (m.type === 'failed') {
        failure = m.error;
      }
    });
    worker.once('exit', (code) => {
      clearTimeout(timer);
      if (outcome !== undefined) resolve(outcome);
      else reject(new Error(`${cell.scenario} ${JSON.stringify(cell.shape)}: ${failure ?? `worker exited with ${code}`}`));
    });
  });
}
