// meta-mesh: the stable public API. The Mesh and its options, calls and
// filters, MeshError and its codes, the codec contract a private protocol
// implements, the ready-made filters and rate limiters, the YAML loader and
// the model types it produces. Extension points that may still change are in
// meta-mesh/experimental; the local control plane is meta-mesh/control-plane;
// protocol adapters are meta-mesh/thrift, meta-mesh/dubbo and meta-mesh/redis.
// Everything listed in api/*.api.md is a promise: `npm run api-report`.

// The mesh.
export { Mesh } from './mesh';
export type { MeshEvents, MeshOptions, OutboundService } from './mesh';
export type { AdminOptions } from './admin/admin-server';
export type { WorkloadOptions } from './security/inbound-security';
export type { IdentityFiles } from './security/workload-identity';
export type { XdsConfigSourceOptions } from './xds/xds-config-source';
export type { XdsOptions, XdsTlsOptions } from './xds/xds-options';
export type { BackoffOptions } from './protocol/backoff';

// Calls, replies and filters.
export type { Call, CallDirection, CallPeer, Filter, Handler, Reply } from './filters/call';

// Errors.
export { MeshError, MeshErrorCode } from './protocol/mesh-error';
export type { MeshErrorOptions } from './protocol/mesh-error';

// The codec contract.
export { Metadata } from './protocol/metadata';
export type { Codec, CodecFactory, EncodeOptions } from './protocol/codec';
export type { DecodeResult, Direction, Message, MessageType, Mutation } from './protocol/message';

// Filters and limiters.
export { createAccessLogFilter } from './telemetry/access-log-filter';
export type { AccessLogFilter, AccessLogStats } from './telemetry/access-log-filter';
export type { AccessLogEntry } from './telemetry/access-log-entry';
export { createMetricsFilter } from './telemetry/metrics-filter';
export { createTracingFilter } from './telemetry/tracing-filter';
export type { SamplingSource } from './telemetry/tracing-filter';
export { createTelemetryFilters } from './telemetry/telemetry-filters';
export type { TelemetryContext, TelemetryFilters } from './telemetry/telemetry-filters';
export { createMetadataExchangeFilter } from './telemetry/metadata-exchange-filter';
export type { MetadataExchangeOptions } from './telemetry/metadata-exchange-filter';
export type {
  AccessLogOptions,
  AccessLogStream,
  IstioOptions,
  MetricsOptions,
  NodeMetadata,
  TelemetryOptions,
  TracingOptions,
} from './telemetry/telemetry-options';
export { createAuthorizationFilter } from './security/authorization-filter';
export type { AuthorizationFilterOptions, AuthorizationStats } from './security/authorization-filter';
export { createRateLimitFilter } from './ratelimit/rate-limit-filter';
export type {
  GlobalRateLimitFilterOptions,
  RateLimitDescriptorSource,
  RateLimitFilter,
  RateLimitFilterOptions,
  RateLimitStats,
} from './ratelimit/rate-limit-filter';
export { TokenBucket } from './ratelimit/token-bucket';
export type { TokenBucketConfig } from './ratelimit/token-bucket';
export { LocalRateLimiter } from './ratelimit/local-rate-limiter';
export type { LocalRateLimitCondition, LocalRateLimitConfig } from './ratelimit/local-rate-limiter';
export { RlsRateLimiter } from './ratelimit/rls-rate-limiter';
export type { RlsRateLimiterOptions } from './ratelimit/rls-rate-limiter';
export { RateLimitRules } from './ratelimit/rate-limit-rules';
export type { RateLimitDescriptorConfig, RateLimitDomainConfig, RateLimitRule, RateLimitUnit } from './ratelimit/rate-limit-rules';
export type { GlobalRateLimiter, GlobalRateLimiterStats, RateLimitDescriptor, RateLimitEntry } from './ratelimit/global-rate-limiter';

// Configuration: the YAML loader and the model it produces.
export { parseConfig } from './config/parse-config';
export type { ConfigSource, ParseConfigOptions } from './config/parse-config';
export { loadConfigFiles } from './config/load-config-files';
export { ConfigError } from './config/config-error';
export type { ConfigProblem } from './config/config-error';
export type {
  ClusterConfig,
  ConnectionThresholds,
  Endpoint,
  ErrorRateBreakerConfig,
  FaultPolicy,
  GlobalRateLimit,
  LbOptions,
  LbPolicy,
  LeastRequestOptions,
  LocalRateLimit,
  Locality,
  LocalityLbSetting,
  MaglevOptions,
  MetadataMatcher,
  MirrorPolicy,
  OutlierDetectionConfig,
  RetryBudgetConfig,
  RetryPolicy,
  RingHashOptions,
  Route,
  RouteConfig,
  Service,
  SlowStartOptions,
  Snapshot,
  TokenBucketPolicy,
  TracingSampling,
  WeightedCluster,
} from './config/model';
export type {
  RedisAddress,
  RedisConfig,
  RedisCredentials,
  RedisDestinationPolicy,
  RedisFault,
  RedisMirrorPolicy,
  RedisReadPolicy,
  RedisRoute,
  RedisServicePolicy,
  RedisSettings,
  RedisTarget,
} from './config/redis-model';
export type {
  AuthorizationPolicyModel,
  AuthzAction,
  AuthzCondition,
  AuthzOperation,
  AuthzRule,
  AuthzSource,
  ClusterTls,
  MtlsMode,
  PeerAuthenticationPolicy,
  SecurityPolicies,
  TlsMode,
  WildcardString,
} from './config/security-model';
