// The retry budget lets retries grow with load, never below a floor.
import assert from 'node:assert/strict';
import { MeshError } from 'meta-mesh';
import { RetryBudget } from '../../lib/cluster/retry-budget';

describe('RetryBudget', () => {
  it('allows minRetryConcurrency retries however few requests are active', () => {
    const b = new RetryBudget();
    assert.equal(b.canRetry(0, 2), true);
    assert.equal(b.canRetry(0, 3), false);
    assert.equal(b.canRetry(10, 2), true);
    assert.equal(b.canRetry(10, 3), false);
  });

  it('allows 20% of active requests as retries once that is above the floor', () => {
    const b = new RetryBudget();
    assert.equal(b.maxRetries(100), 20);
    assert.equal(b.canRetry(100, 19), true);
    assert.equal(b.canRetry(100, 20), false);
    assert.equal(b.maxRetries(19), 3, '20% of 19 rounds down to 3');
  });

  it('takes percent and minRetryConcurrency from the DestinationRule retryBudget', () => {
    const b = new RetryBudget({ percent: 50, minRetryConcurrency: 0 });
    assert.equal(b.canRetry(1, 0), false);
    assert.equal(b.canRetry(4, 1), true);
    assert.equal(b.canRetry(4, 2), false);
  });

  it('rejects percentages outside 0..100 with a CONFIG error', () => {
    assert.throws(() => new RetryBudget({ percent: 120 }), (e: unknown) => e instanceof MeshError && /retryBudget\.percent is 120/.test(e.message));
    assert.throws(() => new RetryBudget({ minRetryConcurrency: -1 }), MeshError);
  });
});
