// retryOn: which failures a route retries. The text is Istio's comma-separated
// `retries.retryOn`; each condition maps onto meta-mesh error codes:
//
//   connect-failure  CONNECT_FAILURE
//   reset            UPSTREAM_RESET
//   unavailable      NO_HEALTHY_UPSTREAM, OVERFLOW (no endpoint could take the call)
//   timeout          TIMEOUT                      idempotent methods only
//   error            an error reply from upstream idempotent methods only
//   5xx              connect-failure, reset, timeout, error (as Envoy's 5xx)
//   gateway-error    connect-failure, reset, timeout (Envoy's 502/503/504)
//   deadline-exceeded  timeout (gRPC's name)
//   reset-before-request  CONNECT_FAILURE only: a reset before the request left is a failed connect
//
// Istio's HTTP- and gRPC-status-only conditions (retriable-4xx, refused-stream,
// cancelled, ...) are accepted so existing VirtualService text still loads, and
// listed in `ignored`: nothing in a MetaProtocol call raises them.
import { MeshError, MeshErrorCode } from '../protocol/mesh-error';

export interface RetryConditions {
  readonly connectFailure: boolean;
  readonly reset: boolean;
  readonly unavailable: boolean;
  readonly timeout: boolean;
  readonly errorReply: boolean;
  /** Accepted conditions that never match a MetaProtocol call. */
  readonly ignored: readonly string[];
}

type Flag = 'connectFailure' | 'reset' | 'unavailable' | 'timeout' | 'errorReply';

const CONDITIONS: Readonly<Record<string, readonly Flag[]>> = {
  'connect-failure': ['connectFailure'],
  reset: ['reset'],
  unavailable: ['unavailable'],
  timeout: ['timeout'],
  error: ['errorReply'],
  '5xx': ['connectFailure', 'reset', 'timeout', 'errorReply'],
  'gateway-error': ['connectFailure', 'reset', 'timeout'],
  'deadline-exceeded': ['timeout'],
  'reset-before-request': ['connectFailure'],
};

const INERT = new Set([
  'retriable-4xx',
  'refused-stream',
  'retriable-status-codes',
  'retriable-headers',
  'envoy-ratelimited',
  'http3-post-connect-failure',
  'cancelled',
  'internal',
  'resource-exhausted',
]);

/** Parses Istio's retryOn text; throws MeshError CONFIG on a condition it does not know. */
export function parseRetryOn(text: string | readonly string[]): RetryConditions {
  const tokens = typeof text === 'string' ? text.split(',') : text;
  const flags: Record<Flag, boolean> = { connectFailure: false, reset: false, unavailable: false, timeout: false, errorReply: false };
  const ignored: string[] = [];
  for (const raw of tokens) {
    const token = raw.trim();
    if (token === '') continue;
    const mapped = CONDITIONS[token];
    if (mapped !== undefined) {
      for (const f of mapped) flags[f] = true;
    } else if (INERT.has(token) || /^\d{3}$/.test(token)) {
      if (!ignored.includes(token)) ignored.push(token);
    } else {
      throw new MeshError(
        MeshErrorCode.CONFIG,
        `retryOn condition '${token}' is not known; use a comma-separated list of: ${Object.keys(CONDITIONS).join(', ')} (HTTP/gRPC-only conditions are accepted and ignored: ${[...INERT].join(', ')})`,
        { details: { field: 'retries.retryOn', condition: token } },
      );
    }
  }
  return Object.freeze({ ...flags, ignored: Object.freeze(ignored) });
}

/**
 * Whether a failed try is retried. `failure` is what the try ended with: a
 * thrown error, or 'error-reply' when upstream answered with a protocol error.
 * Timeouts and error replies may have run on the upstream, so they are retried
 * only when the method is idempotent.
 */
export function shouldRetry(conditions: RetryConditions, failure: unknown, idempotent: boolean): boolean {
  if (failure === 'error-reply') return conditions.errorReply && idempotent;
  if (!(failure instanceof MeshError)) return false;
  switch (failure.code) {
    case MeshErrorCode.CONNECT_FAILURE:
      return conditions.connectFailure;
    case MeshErrorCode.UPSTREAM_RESET:
      return conditions.reset;
    case MeshErrorCode.NO_HEALTHY_UPSTREAM:
    case MeshErrorCode.OVERFLOW:
      return conditions.unavailable;
    case MeshErrorCode.TIMEOUT:
      return conditions.timeout && idempotent;
    default:
      // CIRCUIT_OPEN included: the breaker guards the whole cluster, so a retry would only be refused again.
      return false;
  }
}

/**
 * Compiles a route's idempotent methods (proposed MetaRouter extension
 * `retries.idempotentMethods`) into a test on the call's `method` metadata.
 * `['*']` marks every method idempotent; an empty or absent list, none.
 */
export function idempotentMethods(methods: readonly string[] | undefined): (method: string | undefined) => boolean {
  if (methods === undefined || methods.length === 0) return () => false;
  if (methods.includes('*')) return () => true;
  const set = new Set(methods);
  return (method) => method !== undefined && set.has(method);
}
