// ClusterThresholds: Envoy's per-cluster circuit-breaker thresholds (max
// connections, pending requests, requests, active retries), configured by a
// DestinationRule's `trafficPolicy.connectionPool`. Plain counters: a caller
// takes a slot before the work and gives it back after, and answers a refused
// slot with `thresholdOverflowError`. Each process counts on its own, as each
// Envoy does.
import { MeshError, MeshErrorCode } from '../protocol/mesh-error';

/** The DestinationRule connectionPool fields that set thresholds (others are ignored here). */
export type ThresholdKind = 'connections' | 'pending' | 'requests' | 'retries';

export interface ThresholdLimits {
  readonly maxConnections: number;
  readonly maxPendingRequests: number;
  readonly maxRequests: number;
  readonly maxRetries: number;
}

/** Envoy's defaults for a cluster without circuit_breakers. */
export const ENVOY_DEFAULT_THRESHOLDS: ThresholdLimits = Object.freeze({
  maxConnections: 1024,
  maxPendingRequests: 1024,
  maxRequests: 1024,
  maxRetries: 3,
});

/** What istiod writes into every cluster it generates: all four at 2^32 − 1. */
export const ISTIO_DEFAULT_THRESHOLDS: ThresholdLimits = Object.freeze({
  maxConnections: 0xffffffff,
  maxPendingRequests: 0xffffffff,
  maxRequests: 0xffffffff,
  maxRetries: 0xffffffff,
});

/** The DestinationRule field that raises each threshold, for error messages. */
const FIELD: Record<ThresholdKind, { envoy: string; istio: string }> = {
  connections: { envoy: 'max_connections', istio: 'trafficPolicy.connectionPool.tcp.maxConnections' },
  pending: { envoy: 'max_pending_requests', istio: 'trafficPolicy.connectionPool.http.http1MaxPendingRequests' },
  requests: { envoy: 'max_requests', istio: 'trafficPolicy.connectionPool.http.http2MaxRequests' },
  retries: { envoy: 'max_retries', istio: 'trafficPolicy.connectionPool.http.maxRetries' },
};

export interface ThresholdStats {
  readonly activeConnections: number;
  readonly pendingRequests: number;
  readonly activeRequests: number;
  readonly activeRetries: number;
  /** Refusals per threshold (Envoy upstream_cx_overflow, upstream_rq_pending_overflow, ...). */
  readonly overflows: Readonly<Record<ThresholdKind, number>>;
}

export class ClusterThresholds {
  readonly limits: ThresholdLimits;
  private connections = 0;
  private pending = 0;
  private requests = 0;
  private retries = 0;
  private readonly overflowCounts: Record<ThresholdKind, number> = { connections: 0, pending: 0, requests: 0, retries: 0 };

  constructor(
    /** The cluster name, for error messages. */
    readonly cluster: string,
    limits: Partial<ThresholdLimits> = {},
    defaults: ThresholdLimits = ENVOY_DEFAULT_THRESHOLDS,
  ) {
    this.limits = Object.freeze({
      maxConnections: limit(limits.maxConnections, defaults.maxConnections, 'connections'),
      maxPendingRequests: limit(limits.maxPendingRequests, defaults.maxPendingRequests, 'pending'),
      maxRequests: limit(limits.maxRequests, defaults.maxRequests, 'requests'),
      maxRetries: limit(limits.maxRetries, defaults.maxRetries, 'retries'),
    });
  }

  tryAcquireConnection(): boolean {
    if (this.connections >= this.limits.maxConnections) return this.refuse('connections');
    this.connections++;
    return true;
  }

  releaseConnection(): void {
    if (this.connections > 0) this.connections--;
  }

  tryAcquirePending(): boolean {
    if (this.pending >= this.limits.maxPendingRequests) return this.refuse('pending');
    this.pending++;
    return true;
  }

  releasePending(): void {
    if (this.pending > 0) this.pending--;
  }

  tryAcquireRequest(): boolean {
    if (this.requests >= this.limits.maxRequests) return this.refuse('requests');
    this.requests++;
    return true;
  }

  releaseRequest(): void {
    if (this.requests > 0) this.requests--;
  }

  tryAcquireRetry(): boolean {
    if (this.retries >= this.limits.maxRetries) return this.refuse('retries');
    this.retries++;
    return true;
  }

  releaseRetry(): void {
    if (this.retries > 0) this.retries--;
  }

  get activeRequests(): number {
    return this.requests;
  }

  get pendingRequests(): number {
    return this.pending;
  }

  get activeRetries(): number {
    return this.retries;
  }

  get activeConnections(): number {
    return this.connections;
  }

  get stats(): ThresholdStats {
    return {
      activeConnections: this.connections,
      pendingRequests: this.pending,
      activeRequests: this.requests,
      activeRetries: this.retries,
      overflows: { ...this.overflowCounts },
    };
  }

  /** The OVERFLOW error for a refused slot of this cluster. */
  overflowError(kind: ThresholdKind): MeshError {
    return thresholdOverflowError(this.cluster, kind, this.limitOf(kind));
  }

  private limitOf(kind: ThresholdKind): number {
    const l = this.limits;
    return kind === 'connections' ? l.maxConnections : kind === 'pending' ? l.maxPendingRequests : kind === 'requests' ? l.maxRequests : l.maxRetries;
  }

  private refuse(kind: ThresholdKind): false {
    this.overflowCounts[kind]++;
    return false;
  }
}

/** MeshError OVERFLOW naming the threshold and the DestinationRule field that raises it. */
export function thresholdOverflowError(cluster: string, kind: ThresholdKind, limit: number): MeshError {
  const field = FIELD[kind];
  const what = kind === 'connections' ? 'connections' : kind === 'pending' ? 'pending requests' : kind === 'requests' ? 'requests in flight' : 'retries in flight';
  return new MeshError(
    MeshErrorCode.OVERFLOW,
    `cluster ${cluster} already has ${limit} ${what} (its ${field.envoy} threshold); raise ${field.istio} in the DestinationRule for this host, or send less concurrent traffic`,
    { details: { cluster, threshold: field.envoy, limit, field: field.istio } },
  );
}

function limit(v: unknown, fallback: number, kind: ThresholdKind): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new MeshError(MeshErrorCode.CONFIG, `DestinationRule ${FIELD[kind].istio} is ${String(v)}; set a whole number of at least 0`, {
      details: { field: FIELD[kind].istio },
    });
  }
  return v;
}
