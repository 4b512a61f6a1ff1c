// ConnectionLimits: the part of a cluster's circuit-breaker thresholds an
// upstream pool enforces (Envoy's max_connections and max_pending_requests).
// A structural type, so lib/upstream does not depend on lib/cluster; the
// cluster's ClusterThresholds satisfies it.
import type { MeshError } from '../protocol/mesh-error';

export interface ConnectionLimits {
  tryAcquireConnection(): boolean;
  releaseConnection(): void;
  tryAcquirePending(): boolean;
  releasePending(): void;
  overflowError(kind: 'connections' | 'pending'): MeshError;
}

/**
 * A call's own deadline as the pool sees it (the filters' CallDeadline
 * satisfies it): waits that end no later than it watch it instead of arming a
 * timer of their own, so a call costs one timer, not one per layer.
 */
export interface CallExpiry {
  /** performance.now() when the call's deadline passes. */
  readonly expiresAt: number;
  /** Runs `fn` once when the call is aborted (deadline passed, mesh closed); returns a function that stops watching. */
  onAbort(fn: (reason: MeshError) => void): () => void;
}

/** What a call brings to the pool besides its bytes. */
export interface SendContext {
  /** The calling cluster's thresholds: connections it opens and calls it queues count against them. */
  readonly limits?: ConnectionLimits | undefined;
  /** The call's signal: an aborted call leaves any queue at once. Not read when `deadline` is given. */
  readonly signal?: AbortSignal | undefined;
  /** The call's deadline: it ends the call's waits (queue, reply) when it passes or the mesh closes. */
  readonly deadline?: CallExpiry | undefined;
}

/**
 * True when the call's own deadline comes no later than `timeoutMs` from now
 * (give or take a millisecond): then a wait of `timeoutMs` can watch it instead of a timer.
 */
export function deadlineCovers(deadline: CallExpiry, timeoutMs: number, now: number): boolean {
  return deadline.expiresAt <= now + timeoutMs + 1;
}
