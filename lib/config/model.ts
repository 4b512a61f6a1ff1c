// The in-memory configuration model. YAML (ServiceEntry, DestinationRule,
// MetaRouter) and xDS (MetaRDS, CDS, EDS) are both validated at the edge and
// translated into these immutable objects; the engine only ever sees these.

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
  /** Istio retryOn conditions, e.g. connect-failure, reset, unavailable, timeout. */
  readonly retryOn: readonly string[];
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

export type LbPolicy = 'ROUND_ROBIN' | 'RANDOM' | 'LEAST_REQUEST' | 'RING_HASH' | 'MAGLEV' | 'PASSTHROUGH';

export interface Cluster {
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
  readonly clusters: ReadonlyMap<string, Cluster>;
  readonly routeConfigs: ReadonlyMap<string, RouteConfig>;
  /** Non-fatal notes from validation (fields accepted but not enforced yet). */
  readonly warnings: readonly string[];
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
