// Mirroring stays bounded and can never delay or fail the primary call.
import assert from 'node:assert/strict';
import { Mirror, shouldMirror } from '../../lib/route';
import { defined } from '../support/defined';

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
  reject(err: Error): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets settled promises run their continuations. */
const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('Mirror', () => {
  it('runs a send at once and returns without waiting for it', () => {
    const mirror = new Mirror({});
    let started = false;
    const accepted = mirror.submit(() => {
      started = true;
      return new Promise(() => {}); // a mirror cluster that never answers
    });
    assert.equal(accepted, true);
    assert.equal(started, true);
    assert.deepEqual({ ...mirror.stats }, { sent: 1, dropped: 0, failed: 0, running: 1, queued: 0 });
  });

  it('runs at most maxConcurrent sends, queues up to maxQueued and drops the rest', () => {
    const mirror = new Mirror({ maxConcurrent: 2, maxQueued: 3 });
    const started: number[] = [];
    const results: boolean[] = [];
    for (let i = 0; i < 7; i++) {
      results.push(
        mirror.submit(() => {
          started.push(i);
          return new Promise(() => {});
        }),
      );
    }
    assert.deepEqual(results, [true, true, true, true, true, false, false]);
    assert.deepEqual(started, [0, 1]);
    assert.deepEqual({ ...mirror.stats }, { sent: 2, dropped: 2, failed: 0, running: 2, queued: 3 });
  });

  it('starts queued sends in order as running ones settle', async () => {
    const mirror = new Mirror({ maxConcurrent: 1, maxQueued: 10 });
    const gates = [deferred(), deferred(), deferred()];
    const started: number[] = [];
    gates.forEach((g, i) =>
      mirror.submit(() => {
        started.push(i);
        return g.promise;
      }),
    );
    assert.deepEqual(started, [0]);
    defined(gates[0]).resolve();
    await settle();
    assert.deepEqual(started, [0, 1]);
    defined(gates[1]).reject(new Error('mirror cluster down'));
    await settle();
    assert.deepEqual(started, [0, 1, 2]);
    defined(gates[2]).resolve();
    await settle();
    assert.deepEqual({ ...mirror.stats }, { sent: 3, dropped: 0, failed: 1, running: 0, queued: 0 });
  });

  it('swallows and counts rejected and synchronously thrown failures', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => {
      unhandled.push(reason);
    };
    process.on('unhandledRejection', onUnhandled);
    try {
      const mirror = new Mirror({ maxConcurrent: 1, maxQueued: 5 });
      const gate = deferred();
      assert.equal(mirror.submit(() => gate.promise), true);
      assert.equal(mirror.submit(() => Promise.reject(new Error('boom'))), true);
      assert.equal(
        mirror.submit(() => {
          throw new Error('sync boom');
        }),
        true,
      );
      assert.equal(mirror.submit(() => Promise.resolve('ok')), true);
      gate.resolve();
      await settle();
      await settle();
      assert.deepEqual({ ...mirror.stats }, { sent: 4, dropped: 0, failed: 2, running: 0, queued: 0 });
      // A throw with a free slot never escapes submit either.
      assert.equal(
        mirror.submit(() => {
          throw new Error('sync boom');
        }),
        true,
      );
      assert.equal(mirror.stats.failed, 3);
      assert.equal(mirror.stats.running, 0);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    assert.deepEqual(unhandled, []);
  });

  it('with maxQueued 0 drops every send beyond the running ones', () => {
    const mirror = new Mirror({ maxConcurrent: 1, maxQueued: 0 });
    assert.equal(mirror.submit(() => new Promise(() => {})), true);
    assert.equal(mirror.submit(() => new Promise(() => {})), false);
    assert.equal(mirror.stats.dropped, 1);
  });

  it('close() drops the queue, refuses new sends and lets running ones finish', async () => {
    const mirror = new Mirror({ maxConcurrent: 1, maxQueued: 4 });
    const gate = deferred();
    let queuedRan = false;
    mirror.submit(() => gate.promise);
    mirror.submit(async () => {
      queuedRan = true;
    });
    mirror.submit(async () => {
      queuedRan = true;
    });
    mirror.close();
    assert.equal(mirror.submit(async () => {}), false);
    gate.resolve();
    await settle();
    assert.equal(queuedRan, false);
    assert.deepEqual({ ...mirror.stats }, { sent: 1, dropped: 3, failed: 0, running: 0, queued: 0 });
  });

  it('keeps accepting after a burst wraps the queue around', async () => {
    const mirror = new Mirror({ maxConcurrent: 1, maxQueued: 2 });
    const order: number[] = [];
    for (let round = 0; round < 5; round++) {
      const gate = deferred();
      mirror.submit(() => gate.promise);
      mirror.submit(async () => void order.push(round * 2));
      mirror.submit(async () => void order.push(round * 2 + 1));
      assert.equal(mirror.submit(async () => {}), false);
      gate.resolve();
      await settle();
    }
    assert.deepEqual(order, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual({ ...mirror.stats }, { sent: 15, dropped: 5, failed: 0, running: 0, queued: 0 });
  });
});

describe('shouldMirror', () => {
  it('mirrors the configured share of calls', () => {
    assert.equal(shouldMirror({ cluster: 'shadow', fraction: 1 }, 0.999999), true);
    assert.equal(shouldMirror({ cluster: 'shadow', fraction: 0 }, 0), false);
    assert.equal(shouldMirror({ cluster: 'shadow', fraction: 0.25 }, 0.2499), true);
    assert.equal(shouldMirror({ cluster: 'shadow', fraction: 0.25 }, 0.25), false);
  });
});
