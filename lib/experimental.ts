// meta-mesh/experimental: extension points and engine parts that work but may
// still change between minor versions (as grpc-js's `experimental`). Custom
// load balancers, the inbound server a protocol adapter is built on, the
// route table, the runtime cluster and upstream pool, the resilience parts.
// Nothing here loads the xDS client (meta-mesh/control-plane has it).

// Filter chains.
export { composeFilters } from './filters/filter-chain';
export { createRouter } from './filters/router';
export type { RouterContext } from './filters/router';
export { FaultInjector } from './filters/fault-injection';

// Framing helpers for codec authors.
export { FrameReader } from './protocol/frame-reader';
export { monotonicClock } from './protocol/clock';
export type { MonotonicClock } from './protocol/clock';

// Routes.
export { RouteTable } from './route/route-table';
export { CompiledRoute } from './route/compiled-route';
export { compileMatcher } from './route/metadata-matcher';
export type { MetadataPredicate } from './route/metadata-matcher';
export { Mirror, shouldMirror } from './route/mirror';
export type { MirrorOptions, MirrorStats } from './route/mirror';
export { parseRetryOn, shouldRetry } from './route/retry-on';

// Clusters, load balancers and resilience.
export { Cluster } from './cluster/cluster';
export { registerLoadBalancer, registeredLoadBalancers, RoundRobin, WeightedRandom, LeastRequest, RingHash, Maglev, LocalityAware } from './cluster/lb';
export type { LbRuntime, LoadBalancer, LoadBalancerFactory, PickContext } from './cluster/lb';
export { ClusterResilience, ClusterResilienceRegistry } from './cluster/cluster-resilience';
export { OutlierDetector, outlierOutcomeOf } from './cluster/outlier-detector';
export type { OutlierOutcome } from './cluster/outlier-detector';
export { ClusterThresholds, ENVOY_DEFAULT_THRESHOLDS, ISTIO_DEFAULT_THRESHOLDS } from './cluster/cluster-thresholds';
export { ErrorRateBreaker } from './cluster/error-rate-breaker';
export { RetryBudget } from './cluster/retry-budget';

// Upstream connections.
export { UpstreamConnection, UpstreamHost, UpstreamPool } from './upstream';
export type { UpstreamConnectionOptions, UpstreamHostOptions } from './upstream';

// The inbound server every protocol's server adapter is built on.
export { InboundServer } from './downstream/inbound-server';
export type { InboundServerOptions, InboundServerStats } from './downstream/inbound-server';
export { DEFAULT_SERVER_LIMITS } from './downstream/server-limits';
export type { ServerLimits } from './downstream/server-limits';

// Config helpers.
export { clusterName, routeConfigName, serviceKey } from './config/model';
export { ConfigWatcher } from './config/config-watcher';
export { parseDuration } from './config/parse-duration';
export { snapshotToJSON } from './config/snapshot-to-json';
export type { SnapshotJSON } from './config/snapshot-to-json';

// Telemetry parts.
export { TraceSampler, traceReasonOf } from './telemetry/trace-sampler';
export type { TraceDecision, TraceReason } from './telemetry/trace-sampler';
export { MeshMetrics } from './telemetry/mesh-metrics';
export { formatAccessLogJson, formatAccessLogText } from './telemetry/access-log-format';
export { AERAKI_JSON_FORMAT, AERAKI_TEXT_FORMAT, compileJsonFormat, compileTextFormat } from './telemetry/access-log-format-string';
export type { AccessLogEncoding } from './telemetry/access-log-format-string';

// Status shapes of the admin port.
export type { ClusterStatus, HostStatus } from './admin/cluster-status';
