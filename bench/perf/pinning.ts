// CPU pinning with taskset: the client on one core, the server and the
// proxies on the other, so the client's CPU time is not inflated by sharing a
// core with the path it measures. Without taskset (or with one core) nothing
// is pinned and the results say so.
import { execFileSync } from 'node:child_process';
import * as os from 'node:os';

export interface PinPlan {
  readonly enabled: boolean;
  readonly client?: number;
  readonly server?: number;
  readonly proxies?: number;
  /** The harness process itself. */
  readonly harness?: number;
  readonly description: string;
}

function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

export function planPinning(disabled: boolean): PinPlan {
  const cores = os.availableParallelism();
  if (disabled) return { enabled: false, description: 'not pinned (--no-pin)' };
  if (cores < 2) return { enabled: false, description: `not pinned (${cores} core)` };
  if (!hasTaskset()) return { enabled: false, description: 'not pinned (taskset not found)' };
  return {
    enabled: true,
    client: 0,
    server: 1,
    proxies: 1,
    harness: 1,
    description:
      'taskset: client worker on core 0; thrift server, both HAProxy hops and the harness itself on core 1 (the harness reads /proc around each window, milliseconds of CPU that landed in the client\'s tail while it was unpinned)',
  };
}

/** Moves every thread of this process to `core`; false if taskset refuses. */
export function pinSelf(core: number | undefined): boolean {
  if (core === undefined) return false;
  try {
    execFileSync('taskset', ['-a', '-p', '-c', String(core), String(process.pid)], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

/** The command and args that run `cmd args` on `core` (unchanged when core is undefined). taskset execs, so the pid is the program's. */
export function pinnedCommand(core: number | undefined, cmd: string, args: readonly string[]): [string, string[]] {
  return core === undefined ? [cmd, [...args]] : ['taskset', ['-c', String(core), cmd, ...args]];
}
