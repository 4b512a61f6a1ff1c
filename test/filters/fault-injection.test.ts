// Fault injection delays or aborts the share of calls its policy names.
import assert from 'node:assert/strict';
import { MeshError, type FaultPolicy } from 'meta-mesh';
import { FaultInjector } from '../../lib/filters/fault-injection';
import { mulberry32 } from '../support/mulberry32';

/** Whether `p` has settled once already-queued work and one macrotask turn have run. */
async function settledSoon(p: Promise<unknown>): Promise<boolean> {
  let settled = false;
  p.then(
    () => (settled = true),
    () => (settled = true),
  );
  await new Promise((r) => setImmediate(r));
  return settled;
}

/** Asserts `count` of `n` draws is within 4 standard deviations of n × p. */
function assertRate(count: number, n: number, p: number): void {
  const sd = Math.sqrt(n * p * (1 - p));
  assert.ok(Math.abs(count - n * p) <= 4 * sd, `${count} of ${n} is not near ${n * p} (±${(4 * sd).toFixed(0)})`);
}

describe('FaultInjector', () => {
  it('lets a call through at once when the route has no fault, without drawing', async () => {
    const f = new FaultInjector();
    let draws = 0;
    await f.apply(undefined, () => (draws++, 0));
    assert.equal(draws, 0);
    assert.equal(await settledSoon(f.apply({}, () => 0)), true);
  });

  it('aborts with FAULT_ABORT carrying the configured errorCode', async () => {
    const f = new FaultInjector();
    const policy: FaultPolicy = { abort: { fraction: 1, errorCode: 'NO_HEALTHY_UPSTREAM' } };
    const e = await f.apply(policy, () => 0.5, 'add').catch((x: unknown) => x);
    assert.ok(e instanceof MeshError);
    assert.equal(e.code, 'FAULT_ABORT');
    assert.deepEqual(e.details, { errorCode: 'NO_HEALTHY_UPSTREAM', meshCode: 'NO_HEALTHY_UPSTREAM', route: 'add' });
    assert.match(e.message, /route add, 100% of calls/);
    const status = await f.apply({ abort: { fraction: 1, errorCode: '6' } }, () => 0).catch((x: unknown) => x);
    assert.deepEqual((status as MeshError).details, { errorCode: '6' });
  });

  it('holds a delayed call for delayMs, then lets it through', async () => {
    const f = new FaultInjector();
    const p = f.apply({ delay: { fraction: 1, delayMs: 30 } }, () => 0);
    assert.equal(await settledSoon(p), false);
    await p;
    assert.deepEqual(f.stats, { delays: 1, aborts: 0 });
  });

  it('aborts a call that is both delayed and aborted after the delay', async () => {
    const f = new FaultInjector();
    const p = f.apply({ delay: { fraction: 1, delayMs: 20 }, abort: { fraction: 1, errorCode: 'TIMEOUT' } }, () => 0);
    assert.equal(await settledSoon(p), false);
    await assert.rejects(p, (e: unknown) => e instanceof MeshError && e.code === 'FAULT_ABORT');
  });

  it('aborts and delays close to their configured fractions over many calls', async () => {
    const f = new FaultInjector();
    const random = mulberry32(42);
    const n = 20_000;
    const policy: FaultPolicy = { delay: { fraction: 0.25, delayMs: 1 }, abort: { fraction: 0.1, errorCode: 'OVERFLOW' } };
    const results = await Promise.allSettled(Array.from({ length: n }, () => f.apply(policy, random)));
    const aborted = results.filter((r) => r.status === 'rejected').length;
    assertRate(aborted, n, 0.1);
    assertRate(f.stats.delays, n, 0.25);
    assert.equal(f.stats.aborts, aborted);
  });

  it('never injects at fraction 0 and always at fraction 1', async () => {
    const f = new FaultInjector();
    const random = mulberry32(7);
    for (let i = 0; i < 1000; i++) await f.apply({ abort: { fraction: 0, errorCode: 'X' } }, random);
    const all = await Promise.allSettled(Array.from({ length: 1000 }, () => f.apply({ abort: { fraction: 1, errorCode: 'X' } }, random)));
    assert.equal(all.filter((r) => r.status === 'rejected').length, 1000);
  });
});
