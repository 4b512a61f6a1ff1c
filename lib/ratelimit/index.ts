// Rate limiting: local token buckets, global limits (an Envoy rate limit
// service, or Redis directly) and the filter that enforces them.
export { TokenBucket, MIN_FILL_INTERVAL_MS, type TokenBucketConfig } from './token-bucket';
export { LocalRateLimiter, type LocalRateLimitConfig, type LocalRateLimitCondition } from './local-rate-limiter';
export type { GlobalRateLimiter, GlobalRateLimiterStats, RateLimitDescriptor, RateLimitEntry } from './global-rate-limiter';
export { RlsRateLimiter, type RlsRateLimiterOptions } from './rls-rate-limiter';
export { RateLimitRules, type RateLimitDomainConfig, type RateLimitDescriptorConfig, type RateLimitRule, type RateLimitUnit } from './rate-limit-rules';
export { RedisRateLimiter, type RedisRateLimiterOptions, type RedisRateLimiterStats } from './redis-rate-limiter';
export {
  createRateLimitFilter,
  type RateLimitFilter,
  type RateLimitFilterOptions,
  type RateLimitStats,
  type GlobalRateLimitFilterOptions,
  type RateLimitDescriptorSource,
} from './rate-limit-filter';
export { ServiceRateLimits } from './service-rate-limits';
