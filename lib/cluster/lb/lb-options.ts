// Tuning for a cluster's balancer, in Istio DestinationRule terms (warmupDurationSecs,
// localityLbSetting, outlierDetection.minHealthPercent) plus Envoy's ring/maglev/least
// request knobs. Read from `cluster.lb` once, when the balancer is built.
import type { Cluster as ClusterConfig, Locality } from '../../config/model';

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
  /** Hosts sampled per pick when weights are equal; default 2, minimum 2. */
  readonly choiceCount?: number;
  /** Exponent of (active + 1) dividing the weight when weights differ; default 1.0. */
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
export interface LbRuntime {
  /** Uniform in [0, 1). Default Math.random. */
  readonly random?: () => number;
  /** Monotonic milliseconds. Default performance.now. */
  readonly now?: () => number;
}

/** The balancer options of a cluster config (the model's optional `lb` field). */
export function lbOptionsOf(cluster: ClusterConfig | undefined): LbOptions {
  return (cluster as { lb?: LbOptions } | undefined)?.lb ?? {};
}
