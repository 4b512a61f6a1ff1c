// RlsRateLimiter against a rate limit service built from Envoy's real rls.proto.
import assert from 'node:assert/strict';
import { RlsRateLimiter } from '../../lib/ratelimit';
import { TestRlsServer } from './test-rls-server';

describe('RlsRateLimiter (Envoy RLS over gRPC)', () => {
  let rls: TestRlsServer;
  const limiters: RlsRateLimiter[] = [];
  before(async () => {
    rls = await TestRlsServer.start();
  });
  afterEach(async () => {
    rls.behaviour = { code: 'OK' };
    rls.received.length = 0;
    await Promise.all(limiters.splice(0).map((l) => l.close()));
  });
  after(() => rls.close());

  function limiter(options: { denyOnFail?: boolean; requestTimeoutMs?: number; target?: string } = {}): RlsRateLimiter {
    const l = new RlsRateLimiter({ target: options.target ?? rls.target, requestTimeoutMs: options.requestTimeoutMs ?? 2000, denyOnFail: options.denyOnFail });
    limiters.push(l);
    return l;
  }

  it('sends domain, descriptors and entries with the field numbers Envoy uses', async () => {
    const l = limiter();
    await l.shouldLimit('calc', [[{ key: 'method', value: 'add' }], [{ key: 'user', value: 'u1' }, { key: 'tier', value: '' }]]);
    assert.deepEqual(rls.received, [
      {
        domain: 'calc',
        descriptors: [
          { entries: [{ key: 'method', value: 'add' }], limit: null },
          { entries: [{ key: 'user', value: 'u1' }, { key: 'tier', value: '' }], limit: null },
        ],
        hits_addend: 0,
      },
    ]);
  });

  it('sends hits_addend only when a call counts as more than one hit', async () => {
    const l = limiter();
    await l.shouldLimit('calc', [[{ key: 'method', value: 'add' }]], 5);
    assert.equal(rls.received[0]!.hits_addend, 5);
  });

  it('allows on OK and refuses on OVER_LIMIT', async () => {
    const l = limiter();
    assert.equal(await l.shouldLimit('calc', [[{ key: 'method', value: 'add' }]]), false);
    rls.behaviour = { code: 'OVER_LIMIT' };
    assert.equal(await l.shouldLimit('calc', [[{ key: 'method', value: 'add' }]]), true);
    assert.deepEqual(l.stats, { ok: 1, overLimit: 1, failed: 0 });
  });

  it('allows when the service misses the deadline and denyOnFail is off', async () => {
    rls.behaviour = { code: 'OVER_LIMIT', delayMs: 5_000 };
    const l = limiter({ requestTimeoutMs: 50 });
    assert.equal(await l.shouldLimit('calc', [[{ key: 'method', value: 'add' }]]), false);
    assert.equal(l.stats.failed, 1);
  });

  it('refuses when the service misses the deadline and denyOnFail is on', async () => {
    rls.behaviour = { code: 'OK', delayMs: 5_000 };
    const l = limiter({ requestTimeoutMs: 50, denyOnFail: true });
    assert.equal(await l.shouldLimit('calc', [[{ key: 'method', value: 'add' }]]), true);
    assert.equal(l.stats.failed, 1);
  });

  it('answers per denyOnFail when nothing listens at the target', async () => {
    const dead = await TestRlsServer.start();
    const target = dead.target;
    await dead.close();
    assert.equal(await limiter({ target, requestTimeoutMs: 200, denyOnFail: true }).shouldLimit('calc', [[{ key: 'k', value: 'v' }]]), true);
    assert.equal(await limiter({ target, requestTimeoutMs: 200, denyOnFail: false }).shouldLimit('calc', [[{ key: 'k', value: 'v' }]]), false);
  });

  it('gives each of many concurrent calls on one channel its own verdict', async () => {
    // What is checked is the verdict of each call, not the RLS deadline: a long
    // one keeps a busy CPU (channel set-up, 200 calls at once) from failing open.
    const l = limiter({ requestTimeoutMs: 10_000 });
    rls.behaviour = (req) => ({ code: req.descriptors[0]!.entries[0]!.value === 'odd' ? 'OVER_LIMIT' : 'OK' });
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) => l.shouldLimit('calc', [[{ key: 'parity', value: i % 2 === 0 ? 'even' : 'odd' }]])),
    );
    assert.deepEqual(answers, Array.from({ length: 200 }, (_, i) => i % 2 === 1));
    assert.equal(rls.received.length, 200);
  });
});
