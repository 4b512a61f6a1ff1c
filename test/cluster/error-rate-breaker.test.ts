// The error-rate breaker on opossum: opens on the error rate, half-opens after
// resetTimeout for one trial call, and leaves no timers behind. Half-open runs
// on opossum's own timer, so those tests use a short real resetTimeout.
import assert from 'node:assert/strict';
import { createHook } from 'node:async_hooks';
import { MeshError } from 'meta-mesh';
import { BucketRotation } from '../../lib/cluster/bucket-rotation';
import { ErrorRateBreaker, type BreakerState } from '../../lib/cluster/error-rate-breaker';

const cluster = 'outbound|9090||calc.svc';
const ok = (): Promise<string> => Promise.resolve('ok');
const fail = (): Promise<string> => Promise.reject(new MeshError('UPSTREAM_RESET', 'reset'));
/** Resolves when the breaker next half-opens (opossum's reset timer fired). */
const halfOpened = (b: ErrorRateBreaker): Promise<void> =>
  new Promise((resolve) => {
    const listening = b.onStateChange((s) => {
      if (s !== 'half-open') return;
      listening.dispose();
      resolve();
    });
  });

async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    return String(await p);
  } catch (e) {
    return e instanceof MeshError ? e.code : 'other';
  }
}

describe('ErrorRateBreaker', () => {
  const breakers: ErrorRateBreaker[] = [];
  const make = (...args: ConstructorParameters<typeof ErrorRateBreaker>): ErrorRateBreaker => {
    const b = new ErrorRateBreaker(...args);
    breakers.push(b);
    return b;
  };
  afterEach(() => breakers.splice(0).forEach((b) => b.shutdown()));

  it('opens once more than errorThresholdPercentage of volumeThreshold calls failed, then fails fast', async () => {
    const b = make(cluster, { volumeThreshold: 4, errorThresholdPercentage: 50 });
    const states: BreakerState[] = [];
    b.onStateChange((s) => states.push(s));
    const results = [];
    for (const fn of [ok, ok, fail, fail]) results.push(await outcome(b.run(fn)));
    assert.equal(b.state, 'closed', '2 of 4 failed: 50% is not above 50%');
    results.push(await outcome(b.run(fail)));
    assert.deepEqual(results, ['ok', 'ok', 'UPSTREAM_RESET', 'UPSTREAM_RESET', 'UPSTREAM_RESET']);
    assert.equal(b.state, 'open');
    assert.deepEqual(states, ['open']);

    let called = false;
    const refused = await b.run(async () => (called = true)).catch((e: unknown) => e);
    assert.equal(called, false);
    assert.ok(refused instanceof MeshError);
    assert.equal(refused.code, 'CIRCUIT_OPEN');
    assert.match(refused.message, /cluster outbound\|9090\|\|calc\.svc is open/);
    assert.match(refused.message, /half-opens in \d+ ms/);
    assert.equal(refused.details.cluster, cluster);
    assert.equal(b.stats.rejects, 1);
  });

  it('half-opens after resetTimeout, lets one trial call through and closes when it succeeds', async () => {
    const b = make(cluster, { volumeThreshold: 1, resetTimeout: 40 });
    const halfOpen = halfOpened(b);
    await outcome(b.run(fail));
    assert.equal(b.state, 'open');
    await halfOpen;
    assert.equal(b.state, 'half-open');

    let release!: (v: string) => void;
    const trial = b.run(() => new Promise<string>((r) => (release = r)));
    const second = await b.run(ok).catch((e: unknown) => e);
    assert.ok(second instanceof MeshError && second.code === 'CIRCUIT_OPEN' && /trial call is in flight/.test(second.message));
    release('fine');
    assert.equal(await trial, 'fine');
    assert.equal(b.state, 'closed');
    assert.equal(await b.run(ok), 'ok');
  });

  it('opens again when the trial call fails', async () => {
    const b = make(cluster, { volumeThreshold: 1, resetTimeout: 30 });
    const states: BreakerState[] = [];
    b.onStateChange((s) => states.push(s));
    const halfOpen = halfOpened(b);
    await outcome(b.run(fail));
    await halfOpen;
    assert.equal(await outcome(b.run(fail)), 'UPSTREAM_RESET');
    assert.equal(b.state, 'open');
    assert.deepEqual(states, ['open', 'half-open', 'open']);
  });

  it('does not count failures that say nothing about the cluster', async () => {
    const b = make(cluster, { volumeThreshold: 1 });
    const overflow = (): Promise<string> => Promise.reject(new MeshError('OVERFLOW', 'full'));
    for (let i = 0; i < 5; i++) assert.equal(await outcome(b.run(overflow)), 'OVERFLOW');
    assert.equal(b.state, 'closed');
    for (let i = 0; i < 3; i++) await outcome(b.run(fail, () => false));
    assert.equal(b.state, 'closed', 'isFailure said these do not count');
  });

  it('counts a resolved result as a failure when isFailedResult says so, and still returns it', async () => {
    const b = make(cluster, { volumeThreshold: 2, errorThresholdPercentage: 50 });
    const errorReply = (): Promise<{ error: boolean }> => Promise.resolve({ error: true });
    const isError = (r: { error: boolean }): boolean => r.error;
    assert.deepEqual(await b.run(errorReply, undefined, isError), { error: true });
    assert.deepEqual(await b.run(errorReply, undefined, isError), { error: true });
    assert.equal(b.state, 'open');
  });

  it('forgets failures older than the rolling window', async () => {
    let now = 0;
    const rotation = new BucketRotation(100, () => now);
    const b = make(cluster, { volumeThreshold: 4, rollingCountTimeout: 1_000, rollingCountBuckets: 10 }, { rotation, clock: () => now });
    for (let i = 0; i < 3; i++) await outcome(b.run(fail));
    assert.equal(b.stats.failures, 3);
    now += 500;
    assert.equal(b.stats.failures, 3);
    now += 500;
    assert.equal(b.stats.failures, 0);
    await outcome(b.run(fail));
    assert.equal(b.state, 'closed', 'one failure in a fresh window is below volumeThreshold');
  });

  it('shares one rotation across breakers without a timer of its own', async () => {
    let now = 0;
    const rotation = new BucketRotation(100, () => now);
    const a = make('a', { rollingCountTimeout: 1_000 }, { rotation });
    const c = make('c', { rollingCountTimeout: 1_000 }, { rotation });
    assert.equal(rotation.controller.listenerCount('rotate'), 2);
    await outcome(a.run(fail));
    await outcome(c.run(fail));
    now += 1_000;
    await a.run(ok); // rotates both windows
    assert.deepEqual([a.stats.failures, c.stats.failures], [0, 0]);
    a.shutdown();
    assert.equal(rotation.controller.listenerCount('rotate'), 1);
  });

  it('leaves no timer behind after shutdown, even when shut down while open', async () => {
    const live = new Set<number>();
    const hook = createHook({
      // Only timers opossum creates: mocha keeps its own test timer running meanwhile.
      init: (id, type) => void (type === 'Timeout' && /node_modules[\\/]opossum/.test(new Error().stack ?? '') && live.add(id)),
      destroy: (id) => void live.delete(id),
    }).enable();
    try {
      const b = new ErrorRateBreaker(cluster, { volumeThreshold: 1, resetTimeout: 60_000 });
      await outcome(b.run(fail));
      assert.equal(b.state, 'open');
      assert.equal(live.size, 1, 'opossum arms one reset timer while open');
      b.shutdown();
      await new Promise((r) => setImmediate(r));
      assert.equal(live.size, 0);
      const after = await b.run(ok).catch((e: unknown) => e);
      assert.ok(after instanceof MeshError && after.code === 'CLOSED');
    } finally {
      hook.disable();
    }
  });

  it('opens after consecutiveFailures failures in a row, whatever the error rate', async () => {
    const b = make('redis', { errorThresholdPercentage: 100, resetTimeout: 60_000 }, { consecutiveFailures: 3, subject: 'the rate limit Redis', advice: 'Answered per denyOnFail' });
    for (let i = 0; i < 20; i++) assert.equal(await outcome(b.run(ok)), 'ok');
    for (let i = 0; i < 2; i++) await outcome(b.run(fail));
    assert.equal(b.state, 'closed', '2 failures in a row are below 3, and 100% is never exceeded');
    assert.equal(await outcome(b.run(fail)), 'UPSTREAM_RESET');
    assert.equal(b.state, 'open', 'the third failure in a row opens it though 20 of 23 calls succeeded');
    const refused = await b.run(ok).catch((e: unknown) => e);
    assert.ok(refused instanceof MeshError && refused.code === 'CIRCUIT_OPEN');
    assert.match(refused.message, /^the circuit breaker of the rate limit Redis is open \(it opens on 3 failures in a row\); it half-opens in \d+ ms for one trial call\. Answered per denyOnFail$/);
    assert.equal(b.stats.rejects, 1);
  });

  it('ends a run of failures at a success or at a failure that does not count', async () => {
    const b = make('redis', { errorThresholdPercentage: 100 }, { consecutiveFailures: 2 });
    const overflow = (): Promise<string> => Promise.reject(new MeshError('OVERFLOW', 'full'));
    for (const fn of [fail, ok, fail, overflow, fail, ok]) await outcome(b.run(fn));
    assert.equal(b.state, 'closed', 'never two counted failures in a row');
    await outcome(b.run(fail));
    await outcome(b.run(fail));
    assert.equal(b.state, 'open');
  });

  it('starts a fresh run after a trial call closes it, and reopens when a trial fails', async () => {
    const b = make('redis', { errorThresholdPercentage: 100, resetTimeout: 30 }, { consecutiveFailures: 2 });
    const states: BreakerState[] = [];
    b.onStateChange((s) => states.push(s));
    let halfOpen = halfOpened(b);
    await outcome(b.run(fail));
    await outcome(b.run(fail));
    await halfOpen;
    halfOpen = halfOpened(b);
    assert.equal(await outcome(b.run(fail)), 'UPSTREAM_RESET');
    assert.equal(b.state, 'open', 'the failed trial reopens it');
    await halfOpen;
    assert.equal(await b.run(ok), 'ok');
    assert.equal(b.state, 'closed');
    await outcome(b.run(fail));
    assert.equal(b.state, 'closed', 'one failure after closing is a new run of 1');
    assert.deepEqual(states, ['open', 'half-open', 'open', 'half-open', 'closed']);
  });

  it('keeps the error-rate rule beside the consecutive one', async () => {
    const b = make(cluster, { volumeThreshold: 4, errorThresholdPercentage: 50 }, { consecutiveFailures: 5 });
    for (const fn of [fail, ok, fail, ok, fail]) await outcome(b.run(fn));
    assert.equal(b.state, 'open', '3 of 5 failed (60%), though never two in a row');
    const refused = await b.run(ok).catch((e: unknown) => e);
    assert.ok(refused instanceof MeshError);
    assert.match(refused.message, /it opens on more than 50% errors over 10s or 5 failures in a row/);
    assert.match(refused.message, /tune trafficPolicy\.errorRateBreaker in its DestinationRule$/);
  });

  it('rejects a consecutiveFailures that is not a whole number >= 1', () => {
    for (const bad of [0, 1.5, Number.NaN]) {
      assert.throws(
        () => new ErrorRateBreaker(cluster, {}, { consecutiveFailures: bad }),
        (e: unknown) => e instanceof MeshError && e.code === 'CONFIG' && /consecutiveFailures/.test(e.message),
      );
    }
  });

  it('rejects an out-of-range option with a CONFIG error naming the field', () => {
    assert.throws(
      () => new ErrorRateBreaker(cluster, { errorThresholdPercentage: 150 }),
      (e: unknown) => e instanceof MeshError && e.code === 'CONFIG' && /errorRateBreaker\.errorThresholdPercentage is 150/.test(e.message),
    );
  });
});
