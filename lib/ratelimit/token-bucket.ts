// TokenBucket: the bucket behind local rate limits (Envoy's TokenBucket:
// max_tokens, tokens_per_fill, fill_interval). Refill is computed lazily
// from a monotonic clock when a token is taken, so a bucket costs no timer
// and an idle bucket costs nothing at all.
import { monotonicClock, type MonotonicClock } from '../protocol/clock';
import { MeshError, MeshErrorCode } from '../protocol/mesh-error';

export { monotonicClock, type MonotonicClock };

/** The reference rejects faster fills: it drives every bucket from one timer at the smallest interval. */
export const MIN_FILL_INTERVAL_MS = 50;

export interface TokenBucketConfig {
  /** Capacity and initial content; an integer >= 1. */
  readonly maxTokens: number;
  /** Tokens added per elapsed fill interval (default 1, as in Envoy). */
  readonly tokensPerFill?: number;
  /** Milliseconds between fills, >= 50. */
  readonly fillIntervalMs: number;
}

export class TokenBucket {
  readonly maxTokens: number;
  readonly tokensPerFill: number;
  readonly fillIntervalMs: number;
  private tokens: number;
  /** Time of the last whole fill: partial intervals carry over, so fills never drift. */
  private filledAt: number;

  constructor(config: TokenBucketConfig, private readonly clock: MonotonicClock = monotonicClock) {
    this.maxTokens = positiveInteger(config.maxTokens, 'maxTokens');
    this.tokensPerFill = positiveInteger(config.tokensPerFill ?? 1, 'tokensPerFill');
    const interval = config.fillIntervalMs;
    if (typeof interval !== 'number' || !Number.isFinite(interval) || interval < MIN_FILL_INTERVAL_MS) {
      throw new MeshError(
        MeshErrorCode.CONFIG,
        `token bucket fillInterval is ${String(interval)} ms; it must be at least ${MIN_FILL_INTERVAL_MS} ms (as in Aeraki); use a longer fillInterval and raise tokensPerFill instead`,
        { details: { fillIntervalMs: typeof interval === 'number' ? interval : undefined } },
      );
    }
    this.fillIntervalMs = interval;
    this.tokens = this.maxTokens;
    this.filledAt = clock();
  }

  /** Takes one token; false when the bucket is empty. */
  /** Takes a token if one is left. `now` saves a clock read when the caller already has the time. */
  take(now: number = this.clock()): boolean {
    if (now - this.filledAt >= this.fillIntervalMs) this.refill(now);
    if (this.tokens < 1) return false;
    this.tokens--;
    return true;
  }

  /** Tokens left now (after any refill due). */
  available(): number {
    const now = this.clock();
    if (now - this.filledAt >= this.fillIntervalMs) this.refill(now);
    return this.tokens;
  }

  private refill(now: number): void {
    const fills = Math.floor((now - this.filledAt) / this.fillIntervalMs);
    this.filledAt += fills * this.fillIntervalMs;
    const tokens = this.tokens + fills * this.tokensPerFill;
    this.tokens = tokens > this.maxTokens ? this.maxTokens : tokens;
  }
}

function positiveInteger(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) {
    throw new MeshError(MeshErrorCode.CONFIG, `token bucket ${field} is ${String(v)}; set it to a whole number of at least 1`, {
      details: { field },
    });
  }
  return v;
}
