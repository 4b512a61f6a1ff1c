// Starts and stops a real redis-server for tests and benchmarks: a free port,
// a temp dir, no persistence (--save '' --appendonly no). It can be stopped
// and started again on the same port, to test what a Redis restart does.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
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
    private readonly extraArgs: readonly string[] = [],
  ) {}

  /** Starts redis-server on a free port; `args` are more redis-server options (e.g. ['--requirepass', 'pw']). */
  static async start(args: readonly string[] = []): Promise<RedisServer> {
    if (!fs.existsSync(BINARY)) {
      throw new Error(`redis-server not found at ${BINARY}; install it with: apt-get install -y redis-server (or set REDIS_SERVER)`);
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meta-mesh-redis-'));
    // The port is free when checked; another process could take it before
    // redis binds, so a failed start retries on a new port.
    for (let attempt = 0; ; attempt++) {
      const server = new RedisServer(await freePort(), dir, args);
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
    const child = spawn(BINARY, ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.dir, ...this.extraArgs], {
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

  /** The child's process id (to signal it directly). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Stops the server and removes its directory. */
  async close(): Promise<void> {
    this.unpause();
    await this.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

const CLI = process.env.REDIS_CLI ?? '/usr/bin/redis-cli';

/**
 * A real Redis Cluster on loopback: 3 masters and 3 replicas, created with
 * `redis-cli --cluster create --cluster-replicas 1`, each node on a free port
 * in its own temp dir. `nodeTimeoutMs` is cluster-node-timeout (short, so a
 * killed master fails over quickly).
 */
export class RedisCluster {
  private constructor(readonly nodes: readonly RedisServer[]) {}

  static async start(options: { nodeTimeoutMs?: number } = {}): Promise<RedisCluster> {
    if (!fs.existsSync(CLI)) throw new Error(`redis-cli not found at ${CLI}; install it with: apt-get install -y redis-tools (or set REDIS_CLI)`);
    const nodeTimeoutMs = options.nodeTimeoutMs ?? 1000;
    const args = ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', String(nodeTimeoutMs)];
    // The bus port defaults to port + 10000, which may be taken or out of range: give each its own free one.
    const nodes = await Promise.all(Array.from({ length: 6 }, async () => RedisServer.start([...args, '--cluster-port', String(await freePort())])));
    const cluster = new RedisCluster(nodes);
    try {
      await run(CLI, ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '1', '--cluster-yes']);
      // A node pings each other node at least every half node timeout, and a node lists a replica in CLUSTER SLOTS
      // only once gossip has told it: with a 60 s node timeout that took over 20 s on a loaded machine (CI, once).
      await cluster.waitUntilHealthy(Math.max(20_000, nodeTimeoutMs / 2 + 10_000));
    } catch (err) {
      await cluster.close();
      throw err;
    }
    return cluster;
  }

  get ports(): number[] {
    return this.nodes.map((n) => n.port);
  }

  /** Runs redis-cli against one node and returns its output. */
  cli(port: number, ...args: string[]): Promise<string> {
    return run(CLI, ['-p', String(port), ...args]);
  }

  /** Ports of the nodes that are masters / replicas now (from CLUSTER NODES of a live node). */
  async roles(): Promise<{ masters: number[]; replicas: number[] }> {
    const live = this.nodes.find((n) => n.running)!;
    const out = await this.cli(live.port, 'cluster', 'nodes');
    const masters: number[] = [];
    const replicas: number[] = [];
    for (const line of out.trim().split('\n')) {
      const [, addr, flags] = line.split(' ');
      if (addr === undefined || flags === undefined || flags.includes('fail')) continue;
      const port = Number(addr.split('@')[0]!.split(':')[1]);
      if (flags.includes('master')) masters.push(port);
      else if (flags.includes('slave')) replicas.push(port);
    }
    return { masters, replicas };
  }

  /** Waits (polling CLUSTER INFO, bounded) until every live node reports cluster_state:ok with all slots and replicas in sync. */
  async waitUntilHealthy(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const states = await Promise.all(this.nodes.filter((n) => n.running).map((n) => this.cli(n.port, 'cluster', 'info').catch(() => '')));
      const ok = states.every((s) => s.includes('cluster_state:ok') && s.includes('cluster_slots_ok:16384'));
      let missing = 'a node without cluster_state:ok and all 16384 slots';
      if (ok) {
        const { masters, replicas } = await this.roles();
        const synced = await Promise.all(replicas.map((p) => this.cli(p, 'info', 'replication').catch(() => '')));
        // Clients learn replicas from CLUSTER SLOTS, which lists one only once gossip has told that node about it.
        const live = this.nodes.filter((n) => n.running);
        const slots = await Promise.all(live.map((n) => this.cli(n.port, 'cluster', 'slots').catch(() => '')));
        const listed = slots.map((out) => (out.match(/^[0-9a-f]{40}$/gm) ?? []).length);
        const linked = synced.every((s) => s.includes('master_link_status:up'));
        if (linked && listed.every((n) => n === masters.length + replicas.length)) return;
        missing = linked
          ? `CLUSTER SLOTS listing ${listed.join(', ')} nodes, not all ${masters.length + replicas.length}`
          : 'a replica whose master_link_status is not up';
      }
      if (Date.now() > deadline) throw new Error(`Redis Cluster not healthy after ${timeoutMs} ms: ${missing}; ${states.join(' | ').slice(0, 300)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.close()));
  }
}

function run(file: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: 30_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${file} ${args.join(' ')} failed: ${err.message} ${stderr}`));
      else resolve(stdout);
    });
  });
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
