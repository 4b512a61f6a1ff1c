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

/** What a call brings to the pool besides its bytes. */
export interface SendContext {
  /** The calling cluster's thresholds: connections it opens and calls it queues count against them. */
  readonly limits?: ConnectionLimits;
  /** The call's signal: an aborted call leaves any queue at once. */
  readonly signal?: AbortSignal;
}
