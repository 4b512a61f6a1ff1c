// meta-mesh: the public API of the engine. Protocol adapters live in
// meta-mesh/thrift (and later meta-mesh/dubbo, meta-mesh/redis).
export * from './protocol';
export * from './config';
export * from './filters';
export { Mesh, OutboundService } from './mesh';
export type { MeshOptions, MeshEvents } from './mesh';
export { RouteTable, CompiledRoute, Mirror } from './route';
export { Cluster } from './cluster/cluster';
export { registerLoadBalancer, registeredLoadBalancers } from './cluster/lb';
export type { LoadBalancer, LoadBalancerFactory, PickContext } from './cluster/lb';
export { UpstreamConnection, UpstreamHost, UpstreamPool } from './upstream';
export * from './ratelimit';
export * from './xds';
export * from './telemetry';
export { ClusterResilience, ClusterResilienceRegistry } from './cluster/cluster-resilience';
export { OutlierDetector, outlierOutcomeOf } from './cluster/outlier-detector';
export type { OutlierOutcome } from './cluster/outlier-detector';
export { ClusterThresholds, ENVOY_DEFAULT_THRESHOLDS, ISTIO_DEFAULT_THRESHOLDS } from './cluster/cluster-thresholds';
export { ErrorRateBreaker } from './cluster/error-rate-breaker';
export { RetryBudget } from './cluster/retry-budget';
export { FaultInjector } from './filters/fault-injection';
export { parseRetryOn, shouldRetry } from './route/retry-on';
export { RoundRobin, WeightedRandom, LeastRequest, RingHash, Maglev, LocalityAware } from './cluster/lb';
export type { LbRuntime } from './cluster/lb';
export { InboundServer } from './downstream/inbound-server';
export type { InboundServerOptions, InboundServerStats } from './downstream/inbound-server';
export { DEFAULT_SERVER_LIMITS } from './downstream/server-limits';
export type { ServerLimits } from './downstream/server-limits';
