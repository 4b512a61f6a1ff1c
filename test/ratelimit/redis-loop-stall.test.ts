// A stall of our own event loop is not a Redis failure: with Redis healthy, a
// 40 ms synchronous stall while three checks wait (deadline 20 ms) made all
// three time out (the timer ran before the socket that held the replies was
// read), which opened the backend breaker and let every call through for a
// second. Real redis-server; the stall is a busy loop.
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { RedisRateLimiter } from '../../lib/ratelimit';
import { RedisServer } from '../support/redis-server';

const ADD = [[{ key: 'method', value: 'add' }]];

function stall(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

describe('RedisRateLimiter and a stalled event loop (real redis-server)', function () {
  this.timeout(30_000);
  let redis: RedisServer;
  let limiter: RedisRateLimiter | undefined;
  before(async () => {
    redis = await RedisServer.start();
  });
  afterEach(async () => {
    await limiter?.close();
    limiter = undefined;
  });
  after(() => redis.close());

  it('counts no failure and keeps the limit on when the loop stalls past the deadline', async () => {
    limiter = new RedisRateLimiter({
      redis: { host: '127.0.0.1', port: redis.port },
      rules: { domain: 'stall', descriptors: [{ key: 'method', rate_limit: { unit: 'hour', requests_per_unit: 10 } }] },
      requestTimeoutMs: 20,
    });
    await limiter.ready();
    for (let round = 0; round < 3; round++) {
      const checks = [0, 1, 2].map(() => limiter!.shouldLimit('stall', ADD));
      // The commands go out on the next tick; their replies arrive while the loop is busy.
      await new Promise((r) => setImmediate(r));
      stall(40);
      const limited = await Promise.all(checks);
      assert.equal(limiter.stats.failed, 0, `round ${round}: a stall of our own is not a Redis failure (${limiter.lastError?.message ?? ''})`);
      assert.deepEqual(limited, [false, false, false]);
    }
    // 9 of the 10 tokens are spent: the limit still holds, answered by Redis, not waved through by an open breaker.
    const more = await Promise.all(Array.from({ length: 5 }, () => limiter!.shouldLimit('stall', ADD)));
    assert.deepEqual(more.filter((x) => !x).length, 1);
    assert.equal(limiter.stats.skipped, 0, 'the breaker never opened');
  });
});
