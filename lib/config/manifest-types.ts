// The shapes of manifest specs after the schema check (schema.ts): types are
// trustworthy, but any field may be missing because an invalid value is
// dropped (and reported) rather than passed on, and an invalid list item is
// undefined so indexes still match the file.

import { ManifestDocument } from './manifest-document';
import type { PortTlsSpec, TlsSpec } from './cluster-tls';
import type { AuthorizationPolicySpec, DubboAuthorizationPolicySpec, PeerAuthenticationSpec } from './security-policies';
import type { RedisDestinationSpec, RedisServiceSpec } from './redis-policies';

/** A checked Kubernetes object of one of the kinds meta-mesh reads. */
export interface Manifest<Spec> {
  readonly doc: ManifestDocument;
  readonly name: string;
  readonly namespace: string;
  readonly spec: Spec;
}

type List<T> = readonly (T | undefined)[];
type Labels = Readonly<Record<string, string>>;

export interface ServicePortSpec {
  readonly number?: number;
  readonly protocol?: string;
  readonly name?: string;
  readonly targetPort?: number;
}

export interface WorkloadEntrySpec {
  readonly address?: string;
  readonly ports?: Readonly<Record<string, number>>;
  readonly labels?: Labels;
  readonly locality?: string;
  readonly weight?: number;
  readonly serviceAccount?: string;
}

export interface ServiceEntrySpec {
  readonly hosts?: List<string>;
  readonly subjectAltNames?: List<string>;
  readonly ports?: List<ServicePortSpec>;
  readonly resolution?: string;
  readonly endpoints?: List<WorkloadEntrySpec>;
  /** Selects WorkloadEntry documents of the same namespace by their labels. */
  readonly workloadSelector?: { readonly labels?: Labels };
}

export interface LoadBalancerSpec {
  readonly simple?: string;
  readonly consistentHash?: {
    readonly httpHeaderName?: string;
    readonly maglev?: { readonly tableSize?: number };
    readonly ringHash?: { readonly minimumRingSize?: number };
    readonly minimumRingSize?: number;
  };
  readonly localityLbSetting?: {
    readonly enabled?: boolean;
    readonly distribute?: List<{ readonly from?: string; readonly to?: Readonly<Record<string, number>> }>;
    readonly failover?: List<{ readonly from?: string; readonly to?: string }>;
    readonly failoverPriority?: List<string>;
  };
  /** ms after the schema check. */
  readonly warmupDurationSecs?: number;
}

export interface TrafficPolicySpec {
  readonly loadBalancer?: LoadBalancerSpec;
  readonly connectionPool?: {
    readonly tcp?: { readonly connectTimeout?: number; readonly maxConnections?: number; readonly idleTimeout?: number };
    readonly http?: { readonly http1MaxPendingRequests?: number; readonly http2MaxRequests?: number; readonly maxRetries?: number; readonly idleTimeout?: number };
    /** meta-mesh extension: true = calls share sockets by request id; false = one call in flight per connection. */
    readonly multiplexing?: boolean;
  };
  /** Durations are ms after the schema check. */
  readonly outlierDetection?: {
    readonly splitExternalLocalOriginErrors?: boolean;
    readonly consecutiveLocalOriginFailures?: number;
    readonly consecutiveGatewayErrors?: number;
    readonly consecutive5xxErrors?: number;
    readonly consecutiveErrors?: number;
    readonly interval?: number;
    readonly baseEjectionTime?: number;
    readonly maxEjectionPercent?: number;
    readonly minHealthPercent?: number;
  };
  readonly errorRateBreaker?: {
    readonly errorThresholdPercentage?: number;
    readonly volumeThreshold?: number;
    readonly resetTimeout?: number;
    readonly rollingCountTimeout?: number;
    readonly rollingCountBuckets?: number;
  };
  readonly retryBudget?: { readonly percent?: number; readonly minRetryConcurrency?: number };
  readonly tls?: TlsSpec;
  readonly portLevelSettings?: List<PortTlsSpec>;
}

export interface SubsetSpec {
  readonly name?: string;
  readonly labels?: Labels;
  readonly trafficPolicy?: TrafficPolicySpec;
}

export interface DestinationRuleSpec {
  readonly host?: string;
  readonly trafficPolicy?: TrafficPolicySpec;
  readonly subsets?: List<SubsetSpec>;
}

/** null = the attribute must be present (Aeraki: `key:` with no value). */
export type StringMatchSpec = { readonly exact?: string; readonly prefix?: string; readonly regex?: string } | null;

export interface DestinationSpec {
  readonly host?: string;
  readonly subset?: string;
  readonly port?: { readonly number?: number };
}

export interface PercentSpec {
  readonly value?: number;
}

export interface KeyValueSpec {
  readonly key?: string;
  readonly value?: string;
}

export interface MetaRouteSpec {
  readonly name?: string;
  readonly match?: { readonly attributes?: Readonly<Record<string, StringMatchSpec>> };
  readonly route?: List<{ readonly destination?: DestinationSpec; readonly weight?: number }>;
  readonly mirror?: DestinationSpec;
  readonly mirrorPercentage?: PercentSpec;
  readonly requestMutation?: List<KeyValueSpec>;
  readonly responseMutation?: List<KeyValueSpec>;
  /** ms (durations are converted by the schema check). */
  readonly timeout?: number;
  readonly retries?: { readonly attempts?: number; readonly perTryTimeout?: number; readonly retryOn?: string; readonly idempotentMethods?: List<string> };
  readonly fault?: {
    readonly delay?: { readonly percentage?: PercentSpec; readonly fixedDelay?: number };
    readonly abort?: { readonly percentage?: PercentSpec; readonly errorCode?: string };
  };
}

export interface TokenBucketSpec {
  readonly maxTokens?: number;
  readonly tokensPerFill?: number;
  /** ms (durations are converted by the schema check). */
  readonly fillInterval?: number;
}

export interface MetaRouterSpec {
  readonly hosts?: List<string>;
  readonly routes?: List<MetaRouteSpec>;
  readonly localRateLimit?: {
    readonly tokenBucket?: TokenBucketSpec;
    readonly conditions?: List<{ readonly match?: MetaRouteSpec['match']; readonly tokenBucket?: TokenBucketSpec }>;
  };
  readonly globalRateLimit?: {
    readonly match?: MetaRouteSpec['match'];
    readonly domain?: string;
    readonly requestTimeout?: number;
    readonly denyOnFail?: boolean;
    readonly rateLimitService?: string;
    readonly descriptors?: List<{ readonly property?: string; readonly descriptorKey?: string }>;
  };
}

export interface Manifests {
  readonly serviceEntries: Manifest<ServiceEntrySpec>[];
  readonly destinationRules: Manifest<DestinationRuleSpec>[];
  readonly metaRouters: Manifest<MetaRouterSpec>[];
  readonly workloadEntries: Manifest<WorkloadEntrySpec>[];
  readonly peerAuthentications: Manifest<PeerAuthenticationSpec>[];
  readonly authorizationPolicies: Manifest<AuthorizationPolicySpec>[];
  readonly dubboAuthorizationPolicies: Manifest<DubboAuthorizationPolicySpec>[];
  readonly redisServices: Manifest<RedisServiceSpec>[];
  readonly redisDestinations: Manifest<RedisDestinationSpec>[];
}
