// Tuning for a cluster's balancer, in Istio DestinationRule terms (warmupDurationSecs,
// localityLbSetting, outlierDetection.minHealthPercent) plus Envoy's ring/maglev/least
// request knobs. Read from `cluster.lb` once, when the balancer is built.
import type { ClusterConfig } from '../../config/model';

export type { RingHashOptions, MaglevOptions, LeastRequestOptions, SlowStartOptions, LocalityLbSetting, LbOptions } from '../../config/model';
import type { LbOptions } from '../../config/model';

export interface LbRuntime {
  /** Uniform in [0, 1). Default Math.random. */
  readonly random?: () => number;
  /** Monotonic milliseconds. Default performance.now. */
  readonly now?: () => number;
}

/** The balancer options of a cluster config (the model's optional `lb` field). */
export function lbOptionsOf(cluster: ClusterConfig | undefined): LbOptions {
  return cluster?.lb ?? {};
}
