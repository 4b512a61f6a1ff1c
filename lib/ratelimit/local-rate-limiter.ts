// LocalRateLimiter: Aeraki's local_ratelimit filter. Conditions are tried in
// order and the first whose match holds decides with its own bucket; a call
// no condition matches uses the default bucket, and with no default bucket it
// is allowed. Buckets live as long as the limiter (one per config), so every
// connection of the process shares them.
import type { MetadataMatcher } from '../config/model';
import type { Metadata } from '../protocol/metadata';
import { compileMatcher, type MetadataPredicate } from '../route/metadata-matcher';
import { TokenBucket, monotonicClock, type MonotonicClock, type TokenBucketConfig } from './token-bucket';

export interface LocalRateLimitCondition {
  /** All must hold; empty matches every call. */
  readonly match: readonly MetadataMatcher[];
  readonly tokenBucket: TokenBucketConfig;
}

export interface LocalRateLimitConfig {
  /** The bucket for calls no condition matches; absent = those calls are not limited. */
  readonly tokenBucket?: TokenBucketConfig;
  readonly conditions?: readonly LocalRateLimitCondition[];
}

interface CompiledCondition {
  readonly predicates: readonly MetadataPredicate[];
  readonly bucket: TokenBucket;
  readonly label: string;
}

export class LocalRateLimiter {
  private readonly conditions: readonly CompiledCondition[];
  private readonly fallback: TokenBucket | undefined;
  private readonly fallbackLabel: string;
  /**
   * Which limit refused the latest refused call, for the error message.
   * Set synchronously by check(), so a caller reads it right after a false.
   */
  lastRefusedBy = '';

  /** Compiles `config` once; throws MeshError CONFIG for bad matchers or buckets. */
  /** True when the buckets read performance.now(), so a caller may hand in a time it already read. */
  readonly usesDefaultClock: boolean;

  constructor(config: LocalRateLimitConfig, clock: MonotonicClock = monotonicClock) {
    this.usesDefaultClock = clock === monotonicClock;
    this.conditions = (config.conditions ?? []).map((c, i) => {
      const bucket = new TokenBucket(c.tokenBucket, clock);
      const on = c.match.length === 0 ? 'every call' : c.match.map(describeMatcher).join(', ');
      return { predicates: c.match.map(compileMatcher), bucket, label: `condition ${i + 1} (${on}): ${describeBucket(bucket)}` };
    });
    this.fallback = config.tokenBucket === undefined ? undefined : new TokenBucket(config.tokenBucket, clock);
    this.fallbackLabel = this.fallback === undefined ? '' : `default bucket: ${describeBucket(this.fallback)}`;
  }

  /** True when the call may proceed (it took a token, or no bucket applies). */
  check(metadata: Metadata, now?: number): boolean {
    const conditions = this.conditions;
    for (let i = 0; i < conditions.length; i++) {
      const c = conditions[i]!;
      if (matchesAll(c.predicates, metadata)) {
        if (c.bucket.take(now)) return true;
        this.lastRefusedBy = c.label;
        return false;
      }
    }
    const fallback = this.fallback;
    if (fallback === undefined || fallback.take(now)) return true;
    this.lastRefusedBy = this.fallbackLabel;
    return false;
  }
}

function matchesAll(predicates: readonly MetadataPredicate[], md: Metadata): boolean {
  for (let i = 0; i < predicates.length; i++) if (!predicates[i]!(md)) return false;
  return true;
}

function describeBucket(b: TokenBucket): string {
  return `${b.maxTokens} tokens, ${b.tokensPerFill} added every ${b.fillIntervalMs} ms`;
}

function describeMatcher(m: MetadataMatcher): string {
  const value = m.kind === 'present' ? '' : `${m.value ?? `[${m.rangeStart},${m.rangeEnd})`}`;
  return `${m.invert === true ? 'not ' : ''}${m.name} ${m.kind} ${value}`.trimEnd();
}
