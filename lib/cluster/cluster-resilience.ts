// ClusterResilience: a cluster's circuit-breaking state (thresholds, outlier
// detector, error-rate breaker, retry budget). Unlike the Cluster object,
// which is rebuilt with every config snapshot, this state is carried from one
// snapshot to the next: an ejected host stays ejected and an open breaker stays
// open when an unrelated part of the config changes.
//
// The detector is indexed by the endpoint list of the latest snapshot. A
// Cluster of an older snapshot (a call still in flight on it) reaches it
// through `indexOf`, by the endpoint's identity (address and port), never by
// its position in its own list, which the newer snapshot may have reordered.
// The list is the config's own: no `address:port` string is kept per endpoint
// (at 100k endpoints those were 200k long-lived strings for every young
// collection of a sync to copy); the identity index is built only when an
// older snapshot asks.
import type { ClusterConfig, Endpoint } from '../config/model';
import { runNow, type Steps } from '../config/sliced-work';
import { ClusterThresholds, ISTIO_DEFAULT_THRESHOLDS } from './cluster-thresholds';
import { ErrorRateBreaker } from './error-rate-breaker';
import { OutlierDetector } from './outlier-detector';
import { RetryBudget } from './retry-budget';

/** An endpoint's identity across snapshots. */
function endpointKey(address: string, port: number): string {
  return `${address}:${port}`;
}

function endpointKeys(endpoints: readonly Endpoint[]): string[] {
  return endpoints.map((e) => endpointKey(e.address, e.port));
}

/** Whether two endpoint lists name the same hosts in the same order. */
export function sameEndpointOrder(a: readonly Endpoint[], b: readonly Endpoint[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!; // i < length
    const y = b[i]!;
    if (x.address !== y.address || x.port !== y.port) return false;
  }
  return true;
}

export class ClusterResilience {
  thresholds: ClusterThresholds;
  detector: OutlierDetector | undefined;
  breaker: ErrorRateBreaker | undefined;
  retryBudget: RetryBudget | undefined;
  /** The endpoints of the latest snapshot, in the detector's order (the config's own list). */
  endpoints: readonly Endpoint[];
  private index: Map<string, number> | undefined;
  /** The config object last applied: the same object again is no change. */
  private config: ClusterConfig;
  private thresholdsKey: string;
  private breakerKey: string;

  constructor(
    config: ClusterConfig,
    private readonly onEject?: (cluster: string) => void,
    /** Monotonic ms for the outlier detector (tests move it by hand). */
    private readonly clock?: () => number,
  ) {
    this.config = config;
    this.endpoints = config.endpoints;
    this.thresholdsKey = JSON.stringify(config.thresholds ?? {});
    // Istio writes 2^32-1 into every threshold it does not set: no limit unless the DestinationRule asks.
    this.thresholds = new ClusterThresholds(config.name, config.thresholds ?? {}, ISTIO_DEFAULT_THRESHOLDS);
    this.detector = config.outlierDetection === undefined ? undefined : this.newDetector(config);
    this.breakerKey = JSON.stringify(config.errorRateBreaker ?? null);
    this.breaker = config.errorRateBreaker === undefined ? undefined : newBreaker(config);
    this.retryBudget = config.retryBudget === undefined ? undefined : new RetryBudget(config.retryBudget);
  }

  /** Carries the state over to the cluster's config in a new snapshot. */
  update(config: ClusterConfig): void {
    // xDS hands back the same object for a cluster a change did not touch: nothing to carry over.
    if (config === this.config) return;
    this.config = config;
    if (config.outlierDetection === undefined) {
      this.detector = undefined;
    } else if (this.detector === undefined) {
      this.detector = this.newDetector(config);
    } else {
      // Endpoints are matched by address, so a host keeps its ejection when others come and go.
      if (!sameEndpointOrder(this.endpoints, config.endpoints)) this.detector.remap(endpointKeys(this.endpoints), endpointKeys(config.endpoints));
      this.detector.reconfigure(config.outlierDetection);
    }
    if (this.endpoints !== config.endpoints) {
      this.endpoints = config.endpoints;
      this.index = undefined;
    }
    const thresholdsKey = JSON.stringify(config.thresholds ?? {});
    if (thresholdsKey !== this.thresholdsKey) {
      // Calls in flight release on the object they acquired from.
      this.thresholds = new ClusterThresholds(config.name, config.thresholds ?? {}, ISTIO_DEFAULT_THRESHOLDS);
      this.thresholdsKey = thresholdsKey;
    }
    const breakerKey = JSON.stringify(config.errorRateBreaker ?? null);
    if (breakerKey !== this.breakerKey) {
      this.breaker?.shutdown();
      this.breaker = config.errorRateBreaker === undefined ? undefined : newBreaker(config);
      this.breakerKey = breakerKey;
    }
    this.retryBudget = config.retryBudget === undefined ? undefined : new RetryBudget(config.retryBudget);
  }

  /** The detector's index of the endpoint at `address:port`, or -1 when the latest snapshot has no such endpoint. */
  indexOf(address: string, port: number): number {
    if (this.index === undefined) {
      const index = new Map<string, number>();
      this.endpoints.forEach((e, i) => {
        const k = endpointKey(e.address, e.port);
        if (!index.has(k)) index.set(k, i);
      });
      this.index = index;
    }
    return this.index.get(endpointKey(address, port)) ?? -1;
  }

  close(): void {
    this.breaker?.shutdown();
    this.breaker = undefined;
  }

  private newDetector(config: ClusterConfig): OutlierDetector {
    const detector = new OutlierDetector(config.endpoints.length, config.outlierDetection, this.clock);
    const onEject = this.onEject;
    if (onEject !== undefined) detector.onEject(() => onEject(config.name));
    return detector;
  }
}

/** Breakers with the same bucket length share one rotation: ErrorRateBreaker takes it from BucketRotation.forBucket. */
function newBreaker(config: ClusterConfig): ErrorRateBreaker {
  return new ErrorRateBreaker(config.name, config.errorRateBreaker);
}

/** The resilience state of every cluster, kept across snapshots by cluster name. */
export class ClusterResilienceRegistry {
  private readonly byName = new Map<string, ClusterResilience>();

  constructor(
    private readonly onEject?: (cluster: string) => void,
    private readonly clock?: () => number,
  ) {}

  /** The state for each cluster of a new snapshot; clusters that left the config are dropped. */
  apply(clusters: Iterable<ClusterConfig>): ReadonlyMap<string, ClusterResilience> {
    return runNow(this.applySteps(clusters));
  }

  /** apply() in steps, one per cluster carried over or created, for runSliced. */
  *applySteps(clusters: Iterable<ClusterConfig>): Steps<ReadonlyMap<string, ClusterResilience>> {
    const seen = new Set<string>();
    for (const config of clusters) {
      seen.add(config.name);
      const kept = this.byName.get(config.name);
      if (kept === undefined) this.byName.set(config.name, new ClusterResilience(config, this.onEject, this.clock));
      else kept.update(config);
      yield;
    }
    for (const [name, state] of this.byName) {
      if (seen.has(name)) continue;
      state.close();
      this.byName.delete(name);
    }
    return this.byName;
  }

  close(): void {
    for (const state of this.byName.values()) state.close();
    this.byName.clear();
  }
}
