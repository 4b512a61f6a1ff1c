// RedisRateLimiter against a real redis-server: limits shared across
// processes, and what happens when Redis dies, stalls or restarts.
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { Redis } from 'ioredis';
import { RedisRateLimiter, type RedisRateLimiterOptions } from '../../lib/ratelimit';
import { GCRA_SCRIPT } from '../../lib/ratelimit/gcra-script';
import { RedisServer } from '../support/redis-server';

const ADD = [[{ key: 'method', value: 'add' }]];

function rules(domain: string, requests_per_unit: number, unit: 'second' | 'day' = 'day') {
  return { domain, descriptors: [{ key: 'method', rate_limit: { unit, requests_per_unit } }] };
}

async function admittedOf(limiter: RedisRateLimiter, domain: string, n: number): Promise<number> {
  let admitted = 0;
  for (let i = 0; i < n; i++) if (!(await limiter.shouldLimit(domain, ADD))) admitted++;
  return admitted;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('RedisRateLimiter (real redis-server)', function () {
  this.timeout(60_000);
  let redis: RedisServer;
  const limiters: RedisRateLimiter[] = [];
  before(async () => {
    redis = await RedisServer.start();
  });
  afterEach(async () => {
    redis.unpause();
    if (!redis.running) await redis.resume();
    await Promise.all(limiters.splice(0).map((l) => l.close()));
  });
  after(() => redis.close());

  async function limiter(domain: string, over: Partial<RedisRateLimiterOptions> = {}): Promise<RedisRateLimiter> {
    const l = new RedisRateLimiter({
      redis: { host: '127.0.0.1', port: redis.port, retryStrategy: () => 50 },
      rules: rules(domain, 5),
      requestTimeoutMs: 500,
      ...over,
    });
    limiters.push(l);
    await l.ready();
    return l;
  }

  it('admits requests_per_unit calls, then refuses', async () => {
    const l = await limiter('basic');
    assert.equal(await admittedOf(l, 'basic', 12), 5);
    assert.equal(l.stats.ok, 5);
    assert.equal(l.stats.overLimit, 7);
  });

  it('answers later refusals from its cache without asking Redis again', async () => {
    const l = await limiter('cached');
    await admittedOf(l, 'cached', 5);
    assert.equal(await l.shouldLimit('cached', ADD), true);
    const calls = l.stats.redisCalls;
    assert.equal(await admittedOf(l, 'cached', 100), 0);
    assert.equal(l.stats.redisCalls, calls);
  });

  it('limits each value of a key-only descriptor on its own', async () => {
    const l = await limiter('per-value', { rules: rules('per-value', 2) });
    const d = (v: string) => [[{ key: 'method', value: v }]];
    const answers = [];
    for (const v of ['a', 'a', 'a', 'b', 'b', 'b']) answers.push(await l.shouldLimit('per-value', d(v)));
    assert.deepEqual(answers, [false, false, true, false, false, true]);
  });

  it('does not call Redis for descriptors no limit applies to', async () => {
    const l = await limiter('unlimited');
    assert.equal(await l.shouldLimit('unlimited', [[{ key: 'user', value: 'x' }]]), false);
    assert.equal(await l.shouldLimit('elsewhere', ADD), false);
    assert.equal(l.stats.redisCalls, 0);
  });

  it('keeps each limit under one hash tag so it works on Redis Cluster', async () => {
    const l = await limiter('tagged');
    await l.shouldLimit('tagged', [[{ key: 'method', value: 'add' }]]);
    const key = l.keyOf('tagged', [{ key: 'method', value: 'add' }]);
    assert.match(key, /^rl:\{tagged\|method=add\}$/);
    const probe = new Redis({ port: redis.port });
    try {
      assert.notEqual(await probe.get(key), null);
      assert.ok((await probe.pttl(key)) > 0, 'keys expire once their bucket is full again');
    } finally {
      probe.disconnect();
    }
  });

  for (const lease of [undefined, 10]) {
    it(`shares one limit across four processes within 1% over 10,000 requests${lease ? ' (lease of 10)' : ''}`, async () => {
      const limit = 5000;
      const domain = `shared-${lease ?? 0}`;
      const worker = path.join(__dirname, 'shared-limit-worker.js');
      const children = Array.from({ length: 4 }, () => fork(worker, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
      try {
        const next = (child: ReturnType<typeof fork>) => new Promise<Record<string, number>>((resolve, reject) => {
          child.once('message', (m) => resolve(m as Record<string, number>));
          child.once('exit', (code) => reject(new Error(`worker exited with ${code}`)));
        });
        const ready = children.map(next);
        for (const c of children) c.send({ port: redis.port, domain, requests: 2500, requestsPerDay: limit, leaseSize: lease });
        await Promise.all(ready);
        const done = children.map(next);
        for (const c of children) c.send('go');
        const results = await Promise.all(done);
        const admitted = results.reduce((s, r) => s + r.admitted!, 0);
        assert.ok(Math.abs(admitted - limit) <= limit * 0.01, `admitted ${admitted} of a limit of ${limit}`);
        if (process.env.RATELIMIT_VERBOSE) console.log(`      admitted ${admitted}, redis calls ${results.reduce((s, r) => s + r.redisCalls!, 0)}`);
        assert.ok(results.every((r) => r.admitted! > 0), 'every process got a share');
        assert.equal(results.reduce((s, r) => s + r.failed!, 0), 0);
      } finally {
        for (const c of children) if (c.exitCode === null) c.kill();
      }
    });
  }

  it('allows calls at once while Redis is down when denyOnFail is off', async () => {
    const l = await limiter('down-open', { rules: rules('down-open', 1), breaker: { failureThreshold: 3, coolDownMs: 60_000 } });
    assert.equal(await admittedOf(l, 'down-open', 3), 1);
    await redis.stop();
    // The cached refusal of the key still stands; a new key asks Redis.
    const other = [[{ key: 'method', value: 'sub' }]];
    const answers = await Promise.all(Array.from({ length: 20 }, () => l.shouldLimit('down-open', other)));
    assert.deepEqual(answers, Array(20).fill(false));
    for (let i = 0; i < 50; i++) assert.equal(await l.shouldLimit('down-open', other), false);
    assert.ok(l.stats.failed >= 3);
    assert.ok(l.stats.skipped >= 40, `the breaker skipped Redis (${l.stats.skipped} skipped)`);
  });

  it('refuses calls while Redis is down when denyOnFail is on', async () => {
    const l = await limiter('down-closed', { denyOnFail: true, breaker: { failureThreshold: 3, coolDownMs: 60_000 } });
    await redis.stop();
    for (let i = 0; i < 20; i++) assert.equal(await l.shouldLimit('down-closed', ADD), true);
    assert.equal(l.stats.ok, 0);
  });

  for (const denyOnFail of [false, true]) {
    it(`answers ${denyOnFail ? 'refused' : 'allowed'} when a stalled Redis misses the deadline (denyOnFail ${denyOnFail})`, async () => {
      const l = await limiter(`stalled-${denyOnFail}`, { denyOnFail, requestTimeoutMs: 100 });
      assert.equal(await l.shouldLimit(`stalled-${denyOnFail}`, ADD), false, 'Redis answers before the stall');
      redis.pause();
      assert.equal(await l.shouldLimit(`stalled-${denyOnFail}`, ADD), denyOnFail);
      assert.equal(l.stats.failed, 1);
    });
  }

  it('resumes limiting after Redis restarts, without restarting the limiter', async () => {
    const l = await limiter('restart', { denyOnFail: true, rules: rules('restart', 3), breaker: { failureThreshold: 2, coolDownMs: 20 } });
    assert.equal(await admittedOf(l, 'restart', 5), 3);
    await redis.stop();
    await redis.resume();
    // Keys and scripts are gone with the old server; a first answer from the
    // new one is the first of a fresh bucket of 3.
    let first = true;
    for (let i = 0; i < 400 && first; i++) {
      first = await l.shouldLimit('restart', [[{ key: 'method', value: 'mul' }]]);
      if (first) await sleep(25);
    }
    assert.equal(first, false, 'the limiter reached the restarted Redis');
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await l.shouldLimit('restart', [[{ key: 'method', value: 'mul' }]]));
    assert.deepEqual(answers, [false, false, true, true]);
  });

  it('recovers from NOSCRIPT when Redis loses its script cache', async () => {
    const l = await limiter('noscript');
    assert.equal(await l.shouldLimit('noscript', ADD), false);
    const admin = new Redis({ port: redis.port });
    try {
      await admin.script('FLUSH');
      const sha = createHash('sha1').update(GCRA_SCRIPT).digest('hex');
      assert.deepEqual(await admin.script('EXISTS', sha), [0], 'the limiter\'s next EVALSHA meets NOSCRIPT');
    } finally {
      admin.disconnect();
    }
    assert.equal(await admittedOf(l, 'noscript', 6), 4);
    assert.equal(l.stats.failed, 0);
  });

  it('spends leased tokens locally and asks Redis once per batch', async () => {
    const l = await limiter('lease', { rules: rules('lease', 1000), lease: { size: 50 } });
    assert.equal(await admittedOf(l, 'lease', 200), 200);
    assert.equal(l.stats.redisCalls, 4);
  });
});
