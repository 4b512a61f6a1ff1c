// retryOn text decides which failed tries a route retries.
import assert from 'node:assert/strict';
import { MeshError } from 'meta-mesh';
import { idempotentMethods, parseRetryOn, shouldRetry } from '../../lib/route/retry-on';

const err = (code: ConstructorParameters<typeof MeshError>[0]): MeshError => new MeshError(code, code);

describe('retryOn', () => {
  it('parses Istio’s comma-separated conditions, with spaces and empty entries', () => {
    assert.deepEqual(parseRetryOn(' connect-failure, reset,,unavailable '), {
      connectFailure: true,
      reset: true,
      unavailable: true,
      timeout: false,
      errorReply: false,
      ignored: [],
    });
  });

  it('expands 5xx and gateway-error as Envoy does', () => {
    const fivexx = parseRetryOn('5xx');
    assert.deepEqual([fivexx.connectFailure, fivexx.reset, fivexx.timeout, fivexx.errorReply, fivexx.unavailable], [true, true, true, true, false]);
    const gateway = parseRetryOn('gateway-error');
    assert.deepEqual([gateway.connectFailure, gateway.reset, gateway.timeout, gateway.errorReply], [true, true, true, false]);
  });

  it('accepts HTTP- and gRPC-only conditions, including Istio’s default list, and reports them as ignored', () => {
    const c = parseRetryOn(['connect-failure', 'refused-stream', 'unavailable', 'cancelled', '503']);
    assert.equal(c.connectFailure, true);
    assert.equal(c.unavailable, true);
    assert.deepEqual(c.ignored, ['refused-stream', 'cancelled', '503']);
  });

  it('rejects an unknown condition with a CONFIG error listing the allowed ones', () => {
    assert.throws(
      () => parseRetryOn('connect-failure,timeouts'),
      (e: unknown) =>
        e instanceof MeshError && e.code === 'CONFIG' && /'timeouts' is not known/.test(e.message) && /connect-failure, reset, unavailable, timeout, error/.test(e.message),
    );
  });

  it('retries connect failures, resets and unavailable endpoints whatever the method', () => {
    const c = parseRetryOn('connect-failure,reset,unavailable');
    assert.equal(shouldRetry(c, err('CONNECT_FAILURE'), false), true);
    assert.equal(shouldRetry(c, err('UPSTREAM_RESET'), false), true);
    assert.equal(shouldRetry(c, err('NO_HEALTHY_UPSTREAM'), false), true);
    assert.equal(shouldRetry(c, err('OVERFLOW'), false), true);
    assert.equal(shouldRetry(parseRetryOn('reset'), err('CONNECT_FAILURE'), true), false);
  });

  it('retries timeouts and error replies only for idempotent methods', () => {
    const c = parseRetryOn('timeout,error');
    assert.equal(shouldRetry(c, err('TIMEOUT'), false), false);
    assert.equal(shouldRetry(c, err('TIMEOUT'), true), true);
    assert.equal(shouldRetry(c, 'error-reply', false), false);
    assert.equal(shouldRetry(c, 'error-reply', true), true);
    assert.equal(shouldRetry(parseRetryOn('timeout'), 'error-reply', true), false);
  });

  it('never retries failures a retry cannot fix', () => {
    const c = parseRetryOn('5xx,unavailable');
    for (const code of ['CIRCUIT_OPEN', 'NO_ROUTE', 'CODEC', 'FAULT_ABORT', 'OVER_LIMIT', 'CLOSED'] as const) {
      assert.equal(shouldRetry(c, err(code), true), false, code);
    }
    assert.equal(shouldRetry(c, new Error('app bug'), true), false);
  });

  it('marks methods idempotent from the route’s list, * meaning all', () => {
    const some = idempotentMethods(['get', 'list']);
    assert.deepEqual([some('get'), some('list'), some('put'), some(undefined)], [true, true, false, false]);
    assert.equal(idempotentMethods(['*'])('anything'), true);
    assert.equal(idempotentMethods(undefined)('get'), false);
  });
});
