// npm run demo:redis — an app written for one Redis, routed by meta-mesh:
// prefix routing (user:* to its own password-protected server, prefix
// removed, AutoAuth), writes mirrored to a shadow server, and, when
// redis-cli can build a Redis Cluster, reads served by the cluster's replicas.
// Starts real redis-server processes; says what to install when it cannot.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Redis } from 'ioredis';
import { Mesh } from '../../lib';
import { createRedisClient } from '../../adapters/redis';
import { RedisCluster, RedisServer } from '../../test/support/redis-server';

function onPath(binary: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${binary}`]).toString().trim() || undefined;
  } catch {
    return undefined;
  }
}

function fill(template: string, values: Record<string, number>): string {
  return template.replace(/\$\{(\w+)\}/g, (_, name: string) => String(values[name]));
}

async function main(): Promise<void> {
  const server = process.env.REDIS_SERVER ?? onPath('redis-server');
  if (server === undefined) {
    console.log('demo:redis needs redis-server on the PATH (Debian/Ubuntu: apt-get install -y redis-server; macOS: brew install redis), or REDIS_SERVER=/path/to/redis-server.');
    process.exitCode = 1;
    return;
  }
  process.env.REDIS_SERVER = server;
  const cli = process.env.REDIS_CLI ?? onPath('redis-cli');
  if (cli !== undefined) process.env.REDIS_CLI = cli;

  const source = path.resolve(__dirname, '../../../examples/redis-routing');
  const [main, users, shadow] = await Promise.all([RedisServer.start(), RedisServer.start(['--requirepass', 'users-secret']), RedisServer.start()]);
  const cluster = cli === undefined ? undefined : await RedisCluster.start().catch((err: Error) => (console.log(`(no Redis Cluster: ${err.message.split('\n')[0]})`), undefined));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meta-mesh-redis-demo-'));
  const ports = { MAIN_PORT: main.port, USERS_PORT: users.port, SHADOW_PORT: shadow.port, CLUSTER_PORT: cluster?.ports[0] ?? 0 };
  fs.writeFileSync(path.join(dir, 'mesh.yaml'), fill(fs.readFileSync(path.join(source, 'mesh.yaml'), 'utf8'), ports));
  if (cluster !== undefined) fs.writeFileSync(path.join(dir, 'cluster.yaml'), fill(fs.readFileSync(path.join(source, 'cluster.yaml'), 'utf8'), ports));
  const mesh = await Mesh.start({ config: dir, watch: false });
  const raw = (port: number, password?: string) => new Redis({ port, host: '127.0.0.1', ...(password === undefined ? {} : { password }) });
  const peeks: Redis[] = [];
  const peek = (port: number, password?: string) => {
    const r = raw(port, password);
    peeks.push(r);
    return r;
  };
  try {
    // The app's one-line change: new Redis(6379, 'cache.demo') → createRedisClient(mesh, 'cache.demo', 6379).
    const app = createRedisClient(mesh, 'cache.demo', 6379);

    console.log('1. prefix routing');
    await app.set('user:42', 'Ada');
    await app.set('cart:42', '3 items');
    console.log(`   app: SET user:42, SET cart:42  → users server has "42" = ${await peek(users.port, 'users-secret').get('42')} (prefix removed, AutoAuth)`);
    console.log(`                                   → main server has "cart:42" = ${await peek(main.port).get('cart:42')}`);
    console.log(`   app: MGET user:42 cart:42 → ${JSON.stringify(await app.mget('user:42', 'cart:42'))} (split over both routes, in order)`);

    console.log('2. mirror (writes only)');
    await app.set('cart:7', 'mirrored');
    await app.get('cart:7');
    for (let i = 0; i < 1000 && (mesh.mirrorQueue.stats.running > 0 || mesh.mirrorQueue.stats.queued > 0); i++) await new Promise((r) => setImmediate(r));
    console.log(`   shadow server has "cart:7" = ${await peek(shadow.port).get('cart:7')}; mirror sent ${mesh.mirrorQueue.stats.sent} copies (the GET was not mirrored)`);

    console.log('3. a transaction across routes is refused, never split');
    const err = await app.multi().set('user:1', 'x').set('cart:1', 'y').exec().catch((e: Error) => e);
    console.log(`   ${(err as Error).message}`);

    if (cluster !== undefined) {
      console.log('4. read/write split on a Redis Cluster (readPolicy: REPLICA)');
      const reader = createRedisClient(mesh, 'reads.demo', 6379);
      for (let i = 0; i < 20; i++) await reader.set(`item:${i}`, String(i));
      const { masters, replicas } = await cluster.roles();
      const gets = async (list: number[]) => {
        let n = 0;
        for (const p of list) n += Number(/cmdstat_get:calls=(\d+)/.exec(await cluster.cli(p, 'info', 'commandstats'))?.[1] ?? 0);
        return n;
      };
      for (let i = 0; i < 20; i++) await reader.get(`item:${i}`);
      console.log(`   20 SETs and 20 GETs: GETs served by replicas ${await gets(replicas)}, by masters ${await gets(masters)}`);
      reader.disconnect();
    } else {
      console.log('4. (read/write split skipped: it needs redis-cli to build a Redis Cluster; apt-get install -y redis-tools)');
    }
    app.disconnect();
  } finally {
    for (const p of peeks) p.disconnect();
    await mesh.close();
    await Promise.all([main.close(), users.close(), shadow.close(), cluster?.close()]);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
