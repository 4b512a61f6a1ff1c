// The sidecar stand-in: HAProxy in TCP mode, one thread, no logging, one
// process per hop. Two hops (client side and server side) are what a request
// crosses in a sidecar mesh; an L4 proxy does less work per call than an L7
// filter chain, so this path is a lower bound on a sidecar's cost.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { track } from './child-registry';
import { pinnedCommand } from './pinning';

export interface HaproxyHop {
  readonly name: string;
  readonly port: number;
  readonly pid: number;
  stop(): Promise<void>;
}

const CANDIDATES = ['/usr/sbin/haproxy', '/usr/local/sbin/haproxy', '/usr/bin/haproxy', '/usr/local/bin/haproxy'];

/** The haproxy binary, or undefined when it is not installed. PERF_HAPROXY names one (or 'none' to skip the scenario). */
export function findHaproxy(): string | undefined {
  const chosen = process.env.PERF_HAPROXY;
  if (chosen === 'none') return undefined;
  if (chosen !== undefined && chosen !== '') return fs.existsSync(chosen) ? chosen : undefined;
  const fromPath = (process.env.PATH ?? '').split(':').map((d) => path.join(d, 'haproxy'));
  return [...fromPath, ...CANDIDATES].find((f) => {
    try {
      fs.accessSync(f, fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** A port the kernel says is free now (a race is possible but harmless on loopback in a bench). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function config(name: string, listenPort: number, upstreamPort: number): string {
  return `# perf harness: ${name}, a TCP sidecar hop
global
    nbthread 1
    maxconn 4096
defaults
    mode tcp
    timeout connect 5s
    timeout client 120s
    timeout server 120s
listen ${name}
    bind 127.0.0.1:${listenPort}
    server s1 127.0.0.1:${upstreamPort}
`;
}

function waitForPort(port: number, child: ChildProcess, stderr: () => string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      if (child.exitCode !== null) return reject(new Error(`haproxy exited with ${child.exitCode}: ${stderr()}`));
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', () => {
        socket.destroy();
        if (Date.now() > deadline) reject(new Error(`haproxy did not listen on ${port} within ${timeoutMs} ms: ${stderr()}`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

/** Starts one hop listening on a free port and forwarding to `upstreamPort`; resolves once it accepts connections. */
export async function startHop(binary: string, name: string, upstreamPort: number, dir: string, core: number | undefined): Promise<HaproxyHop> {
  const port = await freePort();
  const file = path.join(dir, `${name}.cfg`);
  fs.writeFileSync(file, config(name, port, upstreamPort));
  const [cmd, args] = pinnedCommand(core, binary, ['-f', file, '-db']);
  const child = track(spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] }));
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()).length > 4000 && (err = err.slice(-4000)));
  await waitForPort(port, child, () => err.trim());
  return {
    name,
    port,
    pid: child.pid!,
    stop: () => stopChild(child),
  };
}

/** SIGTERM, then SIGKILL if it lingers. */
export function stopChild(child: ChildProcess, graceMs = 2000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
