// Every `stats` getter returns a copy: a caller that keeps one sees the
// figures of that moment, and cannot change the live counters.
import { strict as assert } from 'node:assert';
import { PassThrough } from 'node:stream';
import { createAccessLogFilter, createRateLimitFilter, LocalRateLimiter, RlsRateLimiter } from 'meta-mesh';
import { Mirror } from 'meta-mesh/experimental';
import { chain, testCall } from '../telemetry/test-call';

describe('stats getters', () => {
  it('Mirror.stats is a copy', () => {
    const mirror = new Mirror();
    const before = mirror.stats;
    mirror.submit(async () => undefined);
    assert.equal(before.sent, 0);
    assert.equal(mirror.stats.sent, 1);
  });

  it("a rate limit filter's stats is a copy", async () => {
    const filter = createRateLimitFilter({ local: new LocalRateLimiter({ tokenBucket: { maxTokens: 1, tokensPerFill: 1, fillIntervalMs: 60_000 }, conditions: [] }) });
    const before = filter.stats;
    const handler = chain([filter]);
    await handler(testCall());
    await assert.rejects(handler(testCall()), { code: 'OVER_LIMIT' });
    assert.deepEqual(before, { local: { ok: 0, rateLimited: 0 }, global: { ok: 0, rateLimited: 0 } });
    assert.deepEqual(filter.stats.local, { ok: 1, rateLimited: 1 });
    (filter.stats.local as { ok: number }).ok = 99;
    assert.equal(filter.stats.local.ok, 1, 'writing to a read changed the live counter');
  });

  it("an access-log filter's stats is a copy", async () => {
    const stream = new PassThrough();
    stream.resume();
    const filter = createAccessLogFilter({ format: 'json', stream });
    const before = filter.stats;
    await chain([filter])(testCall());
    assert.equal(before.written, 0);
    assert.equal(filter.stats.written, 1);
  });

  it('RlsRateLimiter.stats is a copy', async () => {
    // Nothing listens on port 1: the check fails (and is allowed, denyOnFail off).
    const limiter = new RlsRateLimiter({ target: '127.0.0.1:1', requestTimeoutMs: 2000 });
    try {
      const before = limiter.stats;
      assert.equal(await limiter.shouldLimit('d', [[{ key: 'k', value: 'v' }]]), false);
      assert.deepEqual(before, { ok: 0, overLimit: 0, failed: 0 });
      assert.equal(limiter.stats.failed, 1);
    } finally {
      await limiter.close();
    }
  });
});
