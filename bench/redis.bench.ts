// Redis through the mesh, side by side with raw ioredis in one run:
// - GET/SET at concurrency 64 with auto-pipelining, to the same redis-server:
//   throughput and client CPU per command, rounds interleaved (target: mesh
//   throughput >= 0.90x raw, CPU per command <= 1.2x raw);
// - routing cost per command (command table key lookup + longest-prefix
//   match + prefix removal), in ns (target <= 1 us);
// - MGET of 100 keys split over two routes, against one raw MGET of 100 keys.
// Run: node dist/bench/redis.bench.js (prints figures, asserts nothing).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Redis } from 'ioredis';
import { Mesh } from '../lib';
import { createRedisClient } from '../adapters/redis';
import { keyIndexes, keyString } from '../adapters/redis/command-dispatch';
import { KeyRouter, stripPrefix } from '../adapters/redis/key-router';
import { ProxyBackend } from '../adapters/redis/redis-backend';
import { RedisServer } from '../test/support/redis-server';
import { redisServiceEntry } from '../test/support/redis-yaml';
import { runBench } from './support/run-bench';

const quick = process.env.BENCH_QUICK === '1';
const ROUND_MS = quick ? 400 : 1500;
const ROUNDS = quick ? 2 : 3;

type Client = Pick<Redis, 'get' | 'set' | 'mget'>;

/** Runs `concurrency` loops of op for ms; returns ops done and this process's CPU µs. */
async function load(concurrency: number, ms: number, op: (i: number) => Promise<unknown>): Promise<{ ops: number; cpuUs: number; wallMs: number }> {
  let ops = 0;
  let stop = false;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const timer = setTimeout(() => (stop = true), ms);
  await Promise.all(
    Array.from({ length: concurrency }, async (_, w) => {
      for (let i = w; !stop; i += concurrency) {
        await op(i);
        ops++;
      }
    }),
  );
  clearTimeout(timer);
  const cpu = process.cpuUsage(cpu0);
  return { ops, cpuUs: cpu.user + cpu.system, wallMs: performance.now() - t0 };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function getSet(raw: Client, meshed: Client): Promise<void> {
  const getset = (c: Client) => (i: number) => (i & 1 ? c.get(`k${i & 1023}`) : c.set(`k${i & 1023}`, 'v'));
  // Warm both (connections, JIT).
  await load(64, 300, getset(raw));
  await load(64, 300, getset(meshed));
  const r: { tput: number; cpu: number }[] = [];
  const m: { tput: number; cpu: number }[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    for (const [client, out] of [
      [raw, r],
      [meshed, m],
    ] as const) {
      const x = await load(64, ROUND_MS, getset(client));
      out.push({ tput: (x.ops / x.wallMs) * 1000, cpu: x.cpuUs / x.ops });
    }
  }
  const rt = median(r.map((x) => x.tput));
  const mt = median(m.map((x) => x.tput));
  const rc = median(r.map((x) => x.cpu));
  const mc = median(m.map((x) => x.cpu));
  console.log(`GET/SET c=64 auto-pipelining: raw ioredis ${rt.toFixed(0)} cmd/s, ${rc.toFixed(2)} µs CPU/cmd`);
  console.log(`GET/SET c=64 auto-pipelining: meta-mesh   ${mt.toFixed(0)} cmd/s, ${mc.toFixed(2)} µs CPU/cmd`);
  console.log(`  ratio: throughput ${(mt / rt).toFixed(2)}x (target >= 0.90), client CPU per command ${(mc / rc).toFixed(2)}x (target <= 1.2)`);
}

function routingCost(mesh: Mesh): void {
  const policy = mesh.snapshot.redis!.services.get('bench.redis:6379')!;
  const router = new KeyRouter(policy);
  const keys = ['user:1', 'b:order:7', 'session:abc', 'b:x', 'k17', 'other'];
  const args = keys.map((k) => [k]);
  let sink = 0;
  const n = quick ? 500_000 : 3_000_000;
  const once = (i: number) => {
    const a = args[i % 6]!;
    const idx = keyIndexes('get', a);
    const route = router.route(keyString(a[idx[0]!]!))!;
    sink += (stripPrefix(route, a[0]!) as string).length;
  };
  for (let i = 0; i < 200_000; i++) once(i);
  // CPU time, not wall time: on a shared machine the process is preempted mid-loop.
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < n; i++) once(i);
  const cpu = process.cpuUsage(cpu0);
  const ns = ((cpu.user + cpu.system) * 1000) / n;
  console.log(`routing per command (key lookup + longest prefix of ${policy.routes.length} routes + removePrefix): ${ns.toFixed(0)} ns (target <= 1000)${sink < 0 ? '' : ''}`);
}

/** PROXY mode: picking a key's server among 3 (Envoy's MurmurHash2-64 of the key into maglev); no connection is opened. */
function shardCost(): void {
  const endpoints = [6379, 6380, 6381].map((port) => ({ address: '10.0.0.1', port }));
  const backend = new ProxyBackend(
    { key: 'bench', mode: 'PROXY', host: 'shards', cluster: 'shards', endpoints, readPolicy: 'MASTER', enableHashtagging: true, enableRedirection: false, maxUpstreamUnknownConnections: 0, maxBufferSizeBeforeFlush: 0, bufferFlushTimeoutMs: 3 },
    () => false,
    () => undefined,
  );
  const keys = Array.from({ length: 64 }, (_, i) => (i % 4 === 0 ? `{tenant${i}}:user:${i}` : `user:session:${i}`));
  let sink = 0;
  const n = quick ? 300_000 : 1_000_000;
  for (let i = 0; i < 100_000; i++) sink += backend.shardOf(keys[i & 63]!);
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < n; i++) sink += backend.shardOf(keys[i & 63]!);
  const cpu = process.cpuUsage(cpu0);
  const ns = ((cpu.user + cpu.system) * 1000) / n;
  console.log(`PROXY server pick per key (MurmurHash2-64 of key or hashtag + maglev, 3 servers): ${ns.toFixed(0)} ns${sink < 0 ? '' : ''}`);
}

async function mget(raw: Client, meshed: Client): Promise<void> {
  const rawKeys = Array.from({ length: 100 }, (_, i) => `k${i}`);
  const splitKeys = Array.from({ length: 100 }, (_, i) => (i % 2 ? `b:k${i}` : `k${i}`));
  await (meshed as Redis).mset(...splitKeys.flatMap((k) => [k, 'v']));
  await (raw as Redis).mset(...rawKeys.flatMap((k) => [k, 'v']));
  await load(16, 300, () => raw.mget(...rawKeys));
  await load(16, 300, () => meshed.mget(...splitKeys));
  const r: number[] = [];
  const m: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const a = await load(16, ROUND_MS, () => raw.mget(...rawKeys));
    r.push((a.ops / a.wallMs) * 1000);
    const b = await load(16, ROUND_MS, () => meshed.mget(...splitKeys));
    m.push((b.ops / b.wallMs) * 1000);
  }
  console.log(`MGET 100 keys c=16: raw ioredis (one server) ${median(r).toFixed(0)}/s, meta-mesh split over two routes ${median(m).toFixed(0)}/s, ratio ${(median(m) / median(r)).toFixed(2)}x`);
}

async function main(): Promise<void> {
  const [a, b] = await Promise.all([RedisServer.start(), RedisServer.start()]);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-redis-bench-'));
  fs.writeFileSync(
    path.join(dir, 'mesh.yaml'),
    redisServiceEntry('bench.redis', [a.port]) +
      redisServiceEntry('orders.redis', [b.port]) +
      `apiVersion: redis.aeraki.io/v1alpha1
kind: RedisService
metadata: {name: bench}
spec:
  host: [bench.redis]
  redis:
    - match: {key: {prefix: "b:"}}
      route: {host: orders.redis}
    - match: {key: {prefix: "session:"}}
      route: {host: orders.redis}
    - match: {key: {prefix: "user:"}}
      route: {host: bench.redis}
    - route: {host: bench.redis}
`,
  );
  const mesh = await Mesh.start({ config: dir, watch: false });
  const raw = new Redis({ port: a.port, host: '127.0.0.1', enableAutoPipelining: true });
  const meshed = createRedisClient(mesh, 'bench.redis', 6379, { enableAutoPipelining: true });
  try {
    await getSet(raw, meshed);
    routingCost(mesh);
    shardCost();
    await mget(raw, meshed);
  } finally {
    raw.disconnect();
    meshed.disconnect();
    await mesh.close();
    await Promise.all([a.close(), b.close()]);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

runBench(module, main);
