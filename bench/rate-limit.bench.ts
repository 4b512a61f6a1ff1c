// Rate limiting costs, side by side in one run:
// - local: ns per LocalRateLimiter.check (conditions + default bucket);
// - global on a local redis-server: p50/p99 of one check and checks/s with 64
//   in flight, for RedisRateLimiter (one round trip per call, and with a
//   quota lease of 100) against rate-limiter-flexible's RateLimiterRedis, at
//   equal accuracy (each admits exactly its limit; checked below).
// Run: node dist/bench/rate-limit.bench.js (prints figures, asserts nothing).
import { Redis } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { Metadata } from '../lib/protocol';
import { LocalRateLimiter, RedisRateLimiter } from '../lib/ratelimit';
import { RedisServer } from '../test/support/redis-server';
import { runBench } from './support/run-bench';

const quick = process.env.BENCH_QUICK === '1';

function benchLocal(iterations: number): void {
  const limiter = new LocalRateLimiter({
    tokenBucket: { maxTokens: 1_000_000_000, fillIntervalMs: 1000 },
    conditions: [
      { match: [{ name: 'method', kind: 'exact', value: 'divide' }], tokenBucket: { maxTokens: 1_000_000_000, fillIntervalMs: 1000 } },
      { match: [{ name: 'method', kind: 'exact', value: 'add' }], tokenBucket: { maxTokens: 1_000_000_000, fillIntervalMs: 1000 } },
    ],
  });
  const refusing = new LocalRateLimiter({ tokenBucket: { maxTokens: 1, fillIntervalMs: 3_600_000 } });
  // The same limiter on a clock that costs nothing: what is left is the limiter's own work
  // (reading performance.now() is most of a check on machines with a slow clock source).
  const frozen = new LocalRateLimiter(
    {
      tokenBucket: { maxTokens: 1_000_000_000, fillIntervalMs: 1000 },
      conditions: [
        { match: [{ name: 'method', kind: 'exact', value: 'divide' }], tokenBucket: { maxTokens: 1_000_000_000, fillIntervalMs: 1000 } },
        { match: [{ name: 'method', kind: 'exact', value: 'add' }], tokenBucket: { maxTokens: 1_000_000_000, fillIntervalMs: 1000 } },
      ],
    },
    () => 0,
  );
  const cases: [string, LocalRateLimiter, Metadata][] = [
    ['local check, 2nd condition matches', limiter, new Metadata({ method: 'add', interface: 'calc' })],
    ['local check, falls to default bucket', limiter, new Metadata({ method: 'echo', interface: 'calc' })],
    ['local check, bucket empty (refused)', refusing, new Metadata({ method: 'echo' })],
    ['local check, 2nd condition, clock excluded', frozen, new Metadata({ method: 'add', interface: 'calc' })],
  ];
  let clockSink = 0;
  const clockStart = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) clockSink += performance.now();
  console.log(`${'one performance.now() read, for scale'.padEnd(44)} ${(Number(process.hrtime.bigint() - clockStart) / iterations).toFixed(1).padStart(8)} ns  (${clockSink > 0 ? 'ok' : ''})`);
  for (const [label, l, md] of cases) {
    let sink = 0;
    for (let i = 0; i < 200_000; i++) sink += l.check(md) ? 1 : 0;
    const start = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) sink += l.check(md) ? 1 : 0;
    const ns = Number(process.hrtime.bigint() - start) / iterations;
    console.log(`${label.padEnd(44)} ${ns.toFixed(1).padStart(8)} ns/check  (${sink} allowed)`);
  }
  // The rate limit filter's path: the call's start time (already read by the adapter) is the bucket's "now".
  {
    const md = new Metadata({ method: 'add', interface: 'calc' });
    let sink = 0;
    const now = performance.now();
    for (let i = 0; i < 200_000; i++) sink += limiter.check(md, now) ? 1 : 0;
    const start = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) sink += limiter.check(md, now + i * 1e-6) ? 1 : 0;
    const ns = Number(process.hrtime.bigint() - start) / iterations;
    console.log(`${'local check as the filter runs it (call time)'.padEnd(44)} ${ns.toFixed(1).padStart(8)} ns/check  (${sink} allowed)`);
  }
}

/** One global check; resolves true when admitted. */
type Check = (key: string) => Promise<boolean>;

interface Contender {
  readonly name: string;
  check: Check;
  close(): Promise<void>;
}

async function contenders(port: number, limit: number, domain: string): Promise<Contender[]> {
  const rules = { domain, descriptors: [{ key: 'user', rate_limit: { unit: 'day' as const, requests_per_unit: limit } }] };
  const exact = new RedisRateLimiter({ redis: { port }, rules, requestTimeoutMs: 1000 });
  const leased = new RedisRateLimiter({ redis: { port }, rules, requestTimeoutMs: 1000, lease: { size: 100 } });
  await Promise.all([exact.ready(), leased.ready()]);
  const client = new Redis({ port });
  const flexible = new RateLimiterRedis({ storeClient: client, points: limit, duration: 86_400, keyPrefix: `rlf-${domain}` });
  const d = (key: string) => [[{ key: 'user', value: key }]];
  return [
    { name: 'meta-mesh RedisRateLimiter (GCRA)', check: async (k) => !(await exact.shouldLimit(domain, d(`e-${k}`))), close: () => exact.close() },
    { name: 'meta-mesh RedisRateLimiter, lease 100', check: async (k) => !(await leased.shouldLimit(domain, d(`l-${k}`))), close: () => leased.close() },
    {
      name: 'rate-limiter-flexible RateLimiterRedis',
      check: (k) => flexible.consume(`f-${k}`).then(
        () => true,
        (e: unknown) => {
          if (e instanceof Error) throw e;
          return false;
        },
      ),
      close: async () => client.disconnect(),
    },
  ];
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

async function latency(c: Contender, key: string, n: number): Promise<{ p50: number; p99: number }> {
  const samples: number[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await c.check(key);
    samples[i] = (performance.now() - t) * 1000;
  }
  samples.sort((a, b) => a - b);
  return { p50: percentile(samples, 0.5), p99: percentile(samples, 0.99) };
}

async function throughput(c: Contender, key: string, n: number, inFlight: number): Promise<number> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < n) {
      next++;
      await c.check(key);
    }
  };
  const t = performance.now();
  await Promise.all(Array.from({ length: inFlight }, lane));
  return n / ((performance.now() - t) / 1000);
}

async function accuracy(c: Contender, key: string, offered: number): Promise<number> {
  let admitted = 0;
  for (let i = 0; i < offered; i++) if (await c.check(key)) admitted++;
  return admitted;
}

export async function runRateLimitBench(): Promise<void> {
  benchLocal(quick ? 2_000_000 : 10_000_000);
  const redis = await RedisServer.start();
  try {
    // Accuracy: each must admit exactly 1,000 of 3,000.
    const tight = await contenders(redis.port, 1000, 'acc');
    for (const c of tight) console.log(`${`accuracy: ${c.name}`.padEnd(60)} admitted ${await accuracy(c, 'one', 3000)} of 3000 (limit 1000)`);
    await Promise.all(tight.map((c) => c.close()));

    // Cost: a limit nobody reaches, so every check is an admitted one.
    const open = await contenders(redis.port, 1_000_000_000, 'cost');
    const rounds = quick ? 1 : 3;
    const n = quick ? 3_000 : 20_000;
    const results = new Map<string, { p50: number[]; p99: number[]; rps: number[] }>();
    for (const c of open) await latency(c, 'warm', 2_000); // connect, load scripts, JIT
    for (let r = 0; r < rounds; r++) {
      // Interleaved rounds, so drift in the machine hits every contender alike.
      for (const c of open) {
        const lat = await latency(c, `k${r}`, n / 4);
        const rps = await throughput(c, `k${r}`, n, 64);
        const entry = results.get(c.name) ?? { p50: [], p99: [], rps: [] };
        entry.p50.push(lat.p50);
        entry.p99.push(lat.p99);
        entry.rps.push(rps);
        results.set(c.name, entry);
      }
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const base = median(results.get(open[2]!.name)!.rps);
    for (const [name, e] of results) {
      const rps = median(e.rps);
      console.log(
        `${name.padEnd(42)} p50 ${median(e.p50).toFixed(0).padStart(5)} µs  p99 ${median(e.p99).toFixed(0).padStart(5)} µs  ` +
          `${rps.toFixed(0).padStart(7)} checks/s (64 in flight)  ${(rps / base).toFixed(2)}x rate-limiter-flexible`,
      );
    }
    await Promise.all(open.map((c) => c.close()));
  } finally {
    await redis.close();
  }
}

runBench(module, runRateLimitBench);
