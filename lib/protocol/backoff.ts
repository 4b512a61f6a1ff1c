// Backoff: the one exponential reconnect delay of the mesh. xDS streams use
// grpc-js-xds's values (the defaults: 1 s, x1.6 per failure, at most 120 s,
// each spread by ±20% jitter so a fleet of clients does not reconnect in step
// after a control plane restart); an upstream host uses it for connect
// failures (50 ms doubling to 5 s, no jitter). A call's retry back-off is
// Envoy's per-retry formula instead (retryBackoffMs in lib/filters/upstream-send.ts).

export interface BackoffOptions {
  initialMs?: number | undefined;
  multiplier?: number | undefined;
  maxMs?: number | undefined;
  /** Fraction of the delay added or taken away at random (0.2 = ±20%). */
  jitter?: number | undefined;
  /** Injectable for tests; returns [0, 1). */
  random?: (() => number) | undefined;
}

export class Backoff {
  private readonly initialMs: number;
  private readonly multiplier: number;
  private readonly maxMs: number;
  private readonly jitter: number;
  private readonly random: () => number;
  private nextBaseMs: number;

  constructor(options: BackoffOptions = {}) {
    this.initialMs = options.initialMs ?? 1_000;
    this.multiplier = options.multiplier ?? 1.6;
    this.maxMs = options.maxMs ?? 120_000;
    this.jitter = options.jitter ?? 0.2;
    this.random = options.random ?? Math.random;
    this.nextBaseMs = this.initialMs;
  }

  /** The delay before the next attempt; each call grows the one after. */
  next(): number {
    const base = this.nextBaseMs;
    this.nextBaseMs = Math.min(base * this.multiplier, this.maxMs);
    return Math.max(0, base + base * this.jitter * (this.random() * 2 - 1));
  }

  /** A message arrived: the stream works, so the next failure starts again from the initial delay. */
  reset(): void {
    this.nextBaseMs = this.initialMs;
  }
}
