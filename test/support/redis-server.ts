// Starts and stops a real redis-server for tests and benchmarks: a free port,
// a temp dir, no persistence (--save '' --appendonly no). It can be stopped
// and started again on the same port, to test what a Redis restart does.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

const BINARY = process.env.REDIS_SERVER ?? '/usr/bin/redis-server';

export class RedisServer {
  private child: ChildProcess | undefined;

  private constructor(
    readonly port: number,
    private readonly dir: string,
  ) {}

  /** Starts redis-server on a free port. */
  static async start(): Promise<RedisServer> {
    if (!fs.existsSync(BINARY)) {
      throw new Error(`redis-server not found at ${BINARY}; install it with: apt-get install -y redis-server (or set REDIS_SERVER)`);
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meta-mesh-redis-'));
    // The port is free when checked; another process could take it before
    // redis binds, so a failed start retries on a new port.
    for (let attempt = 0; ; attempt++) {
      const server = new RedisServer(await freePort(), dir);
      try {
        await server.resume();
        return server;
      } catch (err) {
        if (attempt >= 4) {
          fs.rmSync(dir, { recursive: true, force: true });
          throw err;
        }
      }
    }
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  /** Starts (again) on the same port, with an empty data set and script cache. */
  resume(): Promise<void> {
    if (this.child !== undefined) return Promise.resolve();
    const child = spawn(BINARY, ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    let output = '';
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null): void => {
        this.child = undefined;
        reject(new Error(`redis-server exited with ${code} before it was ready: ${output.slice(-2000)}`));
      };
      child.once('exit', onExit);
      const onData = (d: Buffer): void => {
        output += d.toString();
        if (output.includes('Ready to accept connections')) {
          child.stdout!.off('data', onData);
          child.off('exit', onExit);
          child.once('exit', () => {
            if (this.child === child) this.child = undefined;
          });
          // Keep draining so a chatty server never blocks on a full pipe.
          child.stdout!.resume();
          resolve();
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    });
  }

  /** Kills the server (as a crash would) and waits for it to exit. */
  stop(): Promise<void> {
    const child = this.child;
    if (child === undefined) return Promise.resolve();
    this.child = undefined;
    return new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }

  /** Freezes the server: connections stay open but nothing is answered. */
  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  unpause(): void {
    this.child?.kill('SIGCONT');
  }

  /** Stops the server and removes its directory. */
  async close(): Promise<void> {
    this.unpause();
    await this.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}
