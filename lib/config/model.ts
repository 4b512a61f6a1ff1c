// The in-memory configuration model. YAML (ServiceEntry, DestinationRule,
// MetaRouter) and xDS (MetaRDS, CDS, EDS) are both validated at the edge and
// translated into these immutable objects; the engine only ever sees these.
import type { ClusterTls, SecurityPolicies } from './security-model';
import type { RedisConfig } from './redis-model';

/** A metadata matcher with Envoy HeaderMatcher semantics. */
export interface MetadataMatcher {
  /** Metadata key, lower-cased. */
  readonly name: string;
  readonly kind: 'exact' | 'prefix' | 'suffix' | 'contains' | 'regex' | 'present' | 'range';
  /** exact/prefix/suffix/contains: the string; regex: the pattern (full match). */
  readonly value?: string;
  /** present: true = key must be present, false = key must be absent. */
  readonly present?: boolean;
  /** range: start <= int(v) < end. */
  readonly rangeStart?: number;
  readonly rangeEnd?: number;
  /** Negates the result. */
  readonly invert?: boolean;
  /** An absent key is matched as "" instead of failing. */
  readonly treatMissingAsEmpty?: boolean;
  /** exact/prefix/suffix/contains compare case-insensitively (Envoy StringMatcher.ignore_case). */
  readonly ignoreCase?: boolean;
}

export interface WeightedCluster {
  /** Cluster name, `outbound|<port>|<subset>|<host>`. */
  readonly cluster: string;
  readonly weight: number;
}

export interface MirrorPolicy {
  readonly cluster: string;
  /** Share of calls mirrored, 0..1. */
  readonly fraction: number;
}

export interface RetryPolicy {
  readonly attempts: number;
  /** Milliseconds; 0 = the route timeout applies to each try. */
  readonly perTryTimeoutMs: number;
  /** Istio retryOn conditions, e.g. connect-failure, reset, unavailable, timeout, error. */
  readonly retryOn: readonly string[];
  /**
   * meta-mesh extension: methods safe to send twice. Timeouts and error replies
   * are retried only for these ('*' = every method).
   */
  readonly idempotentMethods?: readonly string[];
}

export interface FaultPolicy {
  readonly delay?: { readonly fraction: number; readonly delayMs: number };
  readonly abort?: { readonly fraction: number; readonly errorCode: string };
}

export interface Route {
  readonly name: string;
  /** All must hold (AND). Empty = match every call. */
  readonly match: readonly MetadataMatcher[];
  /** One entry = a plain cluster; more = a weighted split over the sum of weights. */
  readonly clusters: readonly WeightedCluster[];
  /** Metadata keys hashed for ring-hash / maglev balancing. */
  readonly hashPolicy: readonly string[];
  readonly mirrors: readonly MirrorPolicy[];
  readonly requestMutation: readonly (readonly [string, string])[];
  readonly responseMutation: readonly (readonly [string, string])[];
  /** meta-mesh extension (Istio VirtualService naming): per-call deadline in ms. */
  readonly timeoutMs?: number;
  readonly retries?: RetryPolicy;
  readonly fault?: FaultPolicy;
}

/** Envoy TokenBucket: starts full, refills `tokensPerFill` every `fillIntervalMs`. */
export interface TokenBucketPolicy {
  readonly maxTokens: number;
  readonly tokensPerFill: number;
  readonly fillIntervalMs: number;
}

/** MetaRouter localRateLimit: the first matching condition's bucket decides, else the default bucket, else allow. */
export interface LocalRateLimit {
  readonly tokenBucket?: TokenBucketPolicy;
  readonly conditions: readonly { readonly match: readonly MetadataMatcher[]; readonly tokenBucket: TokenBucketPolicy }[];
}

/** MetaRouter globalRateLimit: asks a rate limit service (Envoy RLS) per matching call. */
export interface GlobalRateLimit {
  /** Only calls matching all of these are checked; empty = every call. */
  readonly match: readonly MetadataMatcher[];
  readonly domain: string;
  readonly requestTimeoutMs: number;
  readonly denyOnFail: boolean;
  /** Cluster name of the rate limit service, e.g. outbound|8081||rate-limit-server.ns.svc.cluster.local. */
  readonly rateLimitService: string;
  readonly descriptors: readonly { readonly property: string; readonly descriptorKey: string }[];
}

/** The routes of one service port, named `<host>_<port>` as in MetaRDS. */
export interface RouteConfig {
  readonly name: string;
  readonly routes: readonly Route[];
  /** Enforced on the inbound side of servers that serve this service, as Aeraki does. */
  readonly localRateLimit?: LocalRateLimit;
  readonly globalRateLimit?: GlobalRateLimit;
  /**
   * Trace sampling of this service's calls, from the MetaProtocolProxy listener config
   * (LDS); overrides the Mesh's telemetry.tracing sampling fields it sets.
   */
  readonly tracing?: TracingSampling;
}

/**
 * MetaProtocol Proxy's (and Envoy's) tracing sampling, each a percentage
 * 0-100 with 0.01 resolution, named as in its Tracing config message. Unset
 * fields default to 100, as there.
 */
export interface TracingSampling {
  /** Share of calls carrying x-client-trace-id that are traced because of it. */
  readonly client_sampling?: number;
  /** Share of calls traced when no caller decided (stable per x-request-id). */
  readonly random_sampling?: number;
  /** Upper bound on everything traced, applied after the other checks. */
  readonly overall_sampling?: number;
}

export interface Locality {
  readonly region?: string;
  readonly zone?: string;
  readonly subZone?: string;
}

export interface Endpoint {
  /** IP address or DNS name. */
  readonly address: string;
  readonly port: number;
  readonly labels: Readonly<Record<string, string>>;
  /** Load-balancing weight, >= 1. */
  readonly weight: number;
  readonly locality?: Locality;
  /** From EDS health status; YAML endpoints are always healthy. */
  readonly healthy?: boolean;
}

// ---- cluster policies (DestinationRule trafficPolicy), in Istio's field names, durations in ms ----

/** DestinationRule outlierDetection (plus Envoy knobs Istio leaves at their defaults). */
export interface OutlierDetectionConfig {
  /** Consecutive errors of any kind (non-split) or error replies (split) before ejection. Default 5; 0 disables. */
  readonly consecutive5xxErrors?: number;
  /** Consecutive timeouts, resets and connect failures before ejection. Default 0: disabled (as Istio). */
  readonly consecutiveGatewayErrors?: number;
  /** Istio's deprecated field; Istio maps it onto consecutiveGatewayErrors, and so do we. */
  readonly consecutiveErrors?: number;
  /** Count local-origin errors (timeout, reset, connect failure) apart from error replies. Default false. */
  readonly splitExternalLocalOriginErrors?: boolean;
  /** With splitExternalLocalOriginErrors: consecutive local-origin errors before ejection. Default 5; 0 disables. */
  readonly consecutiveLocalOriginFailures?: number;
  /** Ms between sweeps (success rate, failure percentage, ejection-multiplier decay). Default 10 000. */
  readonly interval?: number;
  /** Ms; an ejection lasts baseEjectionTime × times ejected, capped by maxEjectionTime. Default 30 000. */
  readonly baseEjectionTime?: number;
  /** Ms cap on one ejection (Envoy max_ejection_time). Default max(300 000, baseEjectionTime). */
  readonly maxEjectionTime?: number;
  /** At most this share of hosts is ejected at once. Default 10; 0 means the default, as in Istio. */
  readonly maxEjectionPercent?: number;
  /** Below this share of healthy (not ejected) hosts, ejections are ignored (panic). Default 0: never. */
  readonly minHealthPercent?: number;
  /** Envoy always_eject_one_host: eject one host even when maxEjectionPercent allows none. Default false. */
  readonly alwaysEjectOneHost?: boolean;

  // Envoy fields Istio does not expose (meta-mesh extension). Istio turns success-rate ejection off,
  // and Envoy leaves failure-percentage ejection off, so both start disabled here too.
  /** Percent chance a success-rate outlier is ejected. Default 0 (off). */
  readonly enforcingSuccessRate?: number;
  readonly successRateMinimumHosts?: number;
  readonly successRateRequestVolume?: number;
  /** The outlier threshold is mean − (factor / 1000) × stdev. Default 1900. */
  readonly successRateStdevFactor?: number;
  /** Percent chance a failure-percentage outlier is ejected. Default 0 (off). */
  readonly enforcingFailurePercentage?: number;
  readonly failurePercentageThreshold?: number;
  readonly failurePercentageMinimumHosts?: number;
  readonly failurePercentageRequestVolume?: number;
}

/** meta-mesh extension `trafficPolicy.errorRateBreaker`: an error-rate circuit breaker per cluster. */
export interface ErrorRateBreakerConfig {
  /** Open when more than this percent of calls in the window failed. Default 50. */
  readonly errorThresholdPercentage?: number;
  /** Calls the window must hold before the breaker may open. Default 20. */
  readonly volumeThreshold?: number;
  /** Ms the breaker stays open before letting one trial call through. Default 30 000. */
  readonly resetTimeout?: number;
  /** Ms of the rolling window. Default 10 000. */
  readonly rollingCountTimeout?: number;
  /** Buckets in the window. Default 10. */
  readonly rollingCountBuckets?: number;
}

/** meta-mesh extension `trafficPolicy.retryBudget` (Envoy's retry budget). */
export interface RetryBudgetConfig {
  /** Share (percent) of active plus pending requests that may be retries at once. Default 20. */
  readonly percent?: number;
  /** Retries always allowed at once, however few requests are active. Default 3. */
  readonly minRetryConcurrency?: number;
}

/** Envoy circuit-breaker thresholds from DestinationRule connectionPool. */
export interface ConnectionThresholds {
  /** connectionPool.tcp.maxConnections */
  readonly maxConnections?: number;
  /** connectionPool.http.http1MaxPendingRequests */
  readonly maxPendingRequests?: number;
  /** connectionPool.http.http2MaxRequests */
  readonly maxRequests?: number;
  /** connectionPool.http.maxRetries */
  readonly maxRetries?: number;
}

export interface RingHashOptions {
  /** Envoy minimum_ring_size; default 1024. */
  readonly minimumRingSize?: number;
  /** Envoy maximum_ring_size; default 8M. */
  readonly maximumRingSize?: number;
}

export interface MaglevOptions {
  /** Lookup table size, a prime; default 65537. */
  readonly tableSize?: number;
}

export interface LeastRequestOptions {
  /** Candidates drawn per pick (in proportion to weight); default 2, minimum 2. */
  readonly choiceCount?: number;
  /**
   * With unequal weights, candidates compare active × (active + 1)^bias / weight; default 1.0.
   * 0 = plain weighted random, as Envoy's bias 0 ignores load.
   */
  readonly activeRequestBias?: number;
}

/** Istio `warmupDurationSecs` (Envoy slow_start_config). */
export interface SlowStartOptions {
  /** Ramp window in milliseconds; 0 disables slow start. */
  readonly windowMs: number;
  /** Envoy aggression; 1.0 ramps linearly. */
  readonly aggression?: number;
  /** Floor of the ramp as a percentage of the full weight; default 10. */
  readonly minWeightPercent?: number;
}

/** Istio DestinationRule `trafficPolicy.loadBalancer.localityLbSetting`. */
export interface LocalityLbSetting {
  /** false turns locality balancing off; absent = on. */
  readonly enabled?: boolean;
  /** `from` and `to` keys are `region/zone/subzone` with `*` wildcards. */
  readonly distribute?: readonly { readonly from: string; readonly to: Readonly<Record<string, number>> }[];
  /** Region to region failover: `{ from: 'us-east', to: 'eu-west' }`. */
  readonly failover?: readonly { readonly from: string; readonly to: string }[];
  /** Ordered label keys (or `key=value`); endpoints matching more leading labels come first. */
  readonly failoverPriority?: readonly string[];
}

export interface LbOptions {
  readonly ringHash?: RingHashOptions;
  readonly maglev?: MaglevOptions;
  readonly leastRequest?: LeastRequestOptions;
  readonly slowStart?: SlowStartOptions;
  readonly locality?: LocalityLbSetting;
  /** Where this process runs; locality failover and distribute are relative to it. */
  readonly localLocality?: Locality;
  /** This process's labels, compared with endpoint labels for failoverPriority. */
  readonly localLabels?: Readonly<Record<string, string>>;
  /** Percent of available hosts in a priority below which it balances over all its hosts; default 50, 0 disables. */
  readonly healthyPanicThreshold?: number;
  /** Envoy overprovisioning factor as a ratio; default 1.4. */
  readonly overprovisioningFactor?: number;
}

/** Sources of time and chance, injectable so tests are reproducible. */
export type LbPolicy = 'ROUND_ROBIN' | 'RANDOM' | 'LEAST_REQUEST' | 'RING_HASH' | 'MAGLEV' | 'PASSTHROUGH';

export interface ClusterConfig {
  /** `outbound|<port>|<subset>|<host>`. */
  readonly name: string;
  readonly host: string;
  readonly port: number;
  /** "" for the whole service. */
  readonly subset: string;
  readonly endpoints: readonly Endpoint[];
  readonly lbPolicy: LbPolicy;
  /** Connect timeout in ms. */
  readonly connectTimeoutMs: number;
  /** connectionPool idleTimeout (http, else tcp) in ms: pooled connections idle this long close. Unset = one hour. */
  readonly idleTimeoutMs?: number;
  /**
   * meta-mesh extension `trafficPolicy.connectionPool.multiplexing`: the connection model for this
   * service (true: calls share sockets by request id; false: one call in flight per connection).
   * Unset = the protocol's default (Thrift false, Dubbo true, as MetaProtocol Proxy).
   */
  readonly multiplexing?: boolean;
  /** Balancer tuning: warmup, locality, ring/maglev sizes, panic threshold. */
  readonly lb?: LbOptions;
  readonly thresholds?: ConnectionThresholds;
  /** Present only when the DestinationRule sets outlierDetection (as Envoy). */
  readonly outlierDetection?: OutlierDetectionConfig;
  readonly errorRateBreaker?: ErrorRateBreakerConfig;
  readonly retryBudget?: RetryBudgetConfig;
  /** DestinationRule `tls` (or CDS transport_socket); absent = plaintext. */
  readonly tls?: ClusterTls;
}

/** One service port an application can call: a ServiceEntry host x port. */
export interface Service {
  readonly host: string;
  readonly port: number;
  /** ServiceEntry port name, e.g. tcp-metaprotocol-thrift. */
  readonly portName: string;
  /** Protocol token from the port name (thrift, dubbo, ...) or "" when unknown. */
  readonly protocol: string;
  /** Route config name `<host>_<port>`. */
  readonly routeConfigName: string;
}

/** One immutable, complete configuration. A config change builds a new one. */
export interface Snapshot {
  /** Monotonic version string (for dumps and logs). */
  readonly version: string;
  readonly services: ReadonlyMap<string, Service>;
  readonly clusters: ReadonlyMap<string, ClusterConfig>;
  readonly routeConfigs: ReadonlyMap<string, RouteConfig>;
  /** PeerAuthentication and authorization policies; absent = none (xDS snapshots without them). */
  readonly security?: SecurityPolicies;
  /** Non-fatal notes from validation (fields accepted but not enforced yet). */
  readonly warnings: readonly string[];
  /** RedisService / RedisDestination (absent when the config declares none, e.g. from xDS). */
  readonly redis?: RedisConfig;
}

/** `outbound|<port>|<subset>|<host>`, as Istio's BuildSubsetKey writes it. */
export function clusterName(host: string, port: number, subset = ''): string {
  return `outbound|${port}|${subset}|${host}`;
}

/** `<host>_<port>`, the MetaRDS route config name. */
export function routeConfigName(host: string, port: number): string {
  return `${host}_${port}`;
}

/** Key of a service in Snapshot.services. */
export function serviceKey(host: string, port: number): string {
  return `${host}:${port}`;
}
