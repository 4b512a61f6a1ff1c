// The fixed part of a perf run: the one thrift server process, the two
// HAProxy hops in front of it, and the mesh config files, started once and
// shared by every measured run; stopped on every way out, errors and Ctrl-C
// included.
import { fork, execFileSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { findHaproxy, startHop, stopChild, type HaproxyHop } from './haproxy';
import { track } from './child-registry';
import type { PinPlan } from './pinning';
import { writeMeshConfig, type ScenarioName } from './scenarios';

export interface Rig {
  readonly dir: string;
  readonly serverPort: number;
  readonly serverPid: number;
  /** Client-side hop first, then server-side; empty when HAProxy is not used. */
  readonly hops: readonly HaproxyHop[];
  readonly haproxyVersion?: string;
  /** Why the two-hop scenario cannot run, when it cannot. */
  readonly twoHopSkipped?: string;
  readonly meshConfigs: Partial<Record<ScenarioName, string>>;
  stop(): Promise<void>;
}

/** Forks a Node module, pinned to `core` when given (taskset execs node, keeping the IPC channel and the pid). */
export function forkPinned(module: string, args: readonly string[], core: number | undefined): ChildProcess {
  const pin = core === undefined ? {} : { execPath: 'taskset', execArgv: ['-c', String(core), process.execPath] };
  return track(fork(module, [...args], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], ...pin }));
}

function startServer(core: number | undefined): Promise<{ child: ChildProcess; port: number }> {
  const child = forkPinned(path.join(__dirname, 'perf-server.js'), [], core);
  return new Promise((resolve, reject) => {
    child.once('message', (m: { port: number }) => resolve({ child, port: m.port }));
    child.once('exit', (code) => reject(new Error(`the bench server exited with ${code}`)));
  });
}

function haproxyVersion(binary: string): string | undefined {
  try {
    return execFileSync(binary, ['-v'], { encoding: 'utf8' }).split('\n')[0]?.trim();
  } catch {
    return undefined;
  }
}

export async function startRig(scenarios: readonly ScenarioName[], pin: PinPlan): Promise<Rig> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meta-mesh-perf-'));
  const hops: HaproxyHop[] = [];
  let server: ChildProcess | undefined;
  const stop = async (): Promise<void> => {
    await Promise.allSettled(hops.map((h) => h.stop()));
    if (server !== undefined) await stopChild(server);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    const started = await startServer(pin.server);
    server = started.child;
    const meshConfigs: Partial<Record<ScenarioName, string>> = {};
    for (const s of scenarios) {
      const file = writeMeshConfig(s, started.port, dir);
      if (file !== undefined) meshConfigs[s] = file;
    }
    let twoHopSkipped: string | undefined;
    let version: string | undefined;
    if (scenarios.includes('two-hop')) {
      const binary = findHaproxy();
      if (binary === undefined) {
        twoHopSkipped = 'haproxy not found (apt-get install haproxy, or set PERF_HAPROXY to its path): the two-hop scenario was skipped';
      } else {
        version = haproxyVersion(binary);
        const serverSide = await startHop(binary, 'sidecar-server', started.port, dir, pin.proxies);
        hops.push(serverSide);
        const clientSide = await startHop(binary, 'sidecar-client', serverSide.port, dir, pin.proxies);
        hops.unshift(clientSide);
      }
    }
    return {
      dir,
      serverPort: started.port,
      serverPid: server.pid!,
      hops,
      ...(version === undefined ? {} : { haproxyVersion: version }),
      ...(twoHopSkipped === undefined ? {} : { twoHopSkipped }),
      meshConfigs,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
