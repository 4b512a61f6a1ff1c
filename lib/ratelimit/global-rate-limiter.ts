// GlobalRateLimiter: the contract shared by the limit backends that span
// processes (an Envoy rate limit service over gRPC, or Redis directly).
// Descriptors have the shape of envoy.extensions.common.ratelimit.v3, so a
// limit written for envoyproxy/ratelimit means the same on either backend.

/** One descriptor entry: `{key: descriptor_key, value: metadata[property]}`. */
export interface RateLimitEntry {
  readonly key: string;
  readonly value: string;
}

/** An ordered list of entries; each descriptor of a request is limited on its own. */
export type RateLimitDescriptor = readonly RateLimitEntry[];

export interface GlobalRateLimiter {
  /**
   * Resolves true when the call must be refused: some descriptor is over its
   * limit, or the backend failed and the limiter was told to deny on failure.
   * Never rejects; backend failures resolve as configured (denyOnFail).
   * `hits` is the number of requests the call counts as (default 1).
   */
  shouldLimit(domain: string, descriptors: readonly RateLimitDescriptor[], hits?: number): Promise<boolean>;
  /** Closes the backend connection; later calls resolve as on a failure. */
  close(): Promise<void>;
}

/** Counters a global limiter keeps (plain numbers, read any time). */
export interface GlobalRateLimiterStats {
  /** Calls the backend allowed. */
  ok: number;
  /** Calls the backend found over limit. */
  overLimit: number;
  /** Backend errors and timeouts (answered per denyOnFail). */
  failed: number;
}
