// Cluster: the runtime side of one configured cluster (a service, or one
// subset of it): its endpoints, its balancer, its resilience state (carried
// across snapshots), and the upstream hosts behind the endpoints for each
// protocol that calls it. Built once per config snapshot.
//
// Indexes a Cluster hands out (pickIndex) are positions in its own endpoint
// list and mean the same host for the call's whole life, retries included.
// Outcomes and availability go to the resilience state by the endpoint's
// identity, so a call in flight on this snapshot never reports on, or skips,
// a host that a newer snapshot moved to the same position.
import type { ClusterConfig, Endpoint } from '../config/model';
import type { CodecFactory } from '../protocol/codec';
import { MeshError, MeshErrorCode } from '../protocol/mesh-error';
import type { UpstreamHost } from '../upstream/upstream-host';
import type { UpstreamPool } from '../upstream/upstream-pool';
import { clusterTransport } from '../upstream/upstream-transport';
import type { ClusterResilience } from './cluster-resilience';
import type { OutlierOutcome } from './outlier-detector';
import { ClusterResilience as NewResilience, sameEndpointOrder } from './cluster-resilience';
import { loadBalancerFactory, type LoadBalancer } from './lb/load-balancer';
import { RoundRobin } from './lb/round-robin';
import type { Steps } from '../config/sliced-work';
import './lb';

/** The pick context of one protocol's hosts, reused for every pick so a pick allocates nothing. */
interface HostContext {
  readonly hosts: UpstreamHost[];
  hashKey: bigint | undefined;
  isAvailable: ((i: number) => boolean) | undefined;
  availabilityVersion: number | undefined;
  attempt: number;
  readonly activeRequests: (i: number) => number;
  readonly addedAt: (i: number) => number;
}

export class Cluster {
  readonly name: string;
  readonly balancer: LoadBalancer;
  /** lbPolicy had no registered balancer, so round robin stands in. */
  readonly balancerFallback: boolean;
  readonly resilience: ClusterResilience;
  private readonly contexts = new Map<CodecFactory, HostContext>();
  /** This snapshot's endpoints: the resilience state's own list while this is the latest snapshot (one comparison says so). */
  private readonly endpoints: readonly Endpoint[];
  /** Availability for a snapshot the resilience state has moved past: looked up by identity. */
  private readonly availableByKey = (i: number): boolean => {
    const detector = this.resilience.detector;
    if (detector === undefined) return true;
    const j = this.latestIndex(i);
    return j < 0 || detector.isAvailable(j);
  };
  /** For a snapshot the resilience state has moved past: each endpoint's index in the latest list (-1: dropped), made on first use. */
  private toLatest: { readonly latest: readonly Endpoint[]; readonly index: Int32Array } | undefined;
  /** Versions of retry picks: each is new, so a balancer never caches counts that leave out the tried hosts. */
  private retryVersion = 0;

  constructor(
    readonly config: ClusterConfig,
    private readonly pool: UpstreamPool,
    resilience?: ClusterResilience,
  ) {
    this.name = config.name;
    this.resilience = resilience ?? new NewResilience(config);
    const shared = this.resilience.endpoints;
    // Share the state's array while it names the same hosts in the same order, so "still the latest snapshot" is one comparison.
    this.endpoints = sameEndpointOrder(shared, config.endpoints) ? shared : config.endpoints;
    const factory = loadBalancerFactory(config.lbPolicy);
    this.balancerFallback = factory === undefined;
    this.balancer = factory === undefined ? new RoundRobin(config.endpoints) : factory(config.endpoints, config);
  }

  get size(): number {
    return this.config.endpoints.length;
  }

  /** The upstream hosts of this cluster's endpoints for one protocol, in endpoint order. */
  hosts(codecFactory: CodecFactory): UpstreamHost[] {
    return this.context(codecFactory).hosts;
  }

  /**
   * Picks an endpoint index for one call. `tried` lists indexes a retry
   * should avoid; they are used again only when nothing else is available.
   * Throws NO_HEALTHY_UPSTREAM when no endpoint can be picked.
   */
  pickIndex(codecFactory: CodecFactory, hashKey: bigint | undefined, tried?: readonly number[]): number {
    const ctx = this.context(codecFactory);
    const r = this.resilience;
    const detector = r.detector;
    const available = detector === undefined ? undefined : r.endpoints === this.endpoints ? detector.isAvailable : this.availableByKey;
    const version = detector?.availabilityVersion;
    ctx.hashKey = hashKey;
    let i = -1;
    if (tried !== undefined && tried.length > 0) {
      ctx.isAvailable = (j) => !tried.includes(j) && (available === undefined || available(j));
      ctx.availabilityVersion = --this.retryVersion;
      ctx.attempt = tried.length;
      i = this.balancer.pick(ctx);
    }
    if (i < 0) {
      ctx.isAvailable = available;
      ctx.availabilityVersion = version;
      ctx.attempt = 0;
      i = this.balancer.pick(ctx);
    }
    if (i < 0) {
      const ejected = detector?.ejectedCount ?? 0;
      throw new MeshError(
        MeshErrorCode.NO_HEALTHY_UPSTREAM,
        this.size === 0
          ? `cluster ${this.name} has no endpoints; check the ServiceEntry endpoints and the DestinationRule subset labels`
          : `cluster ${this.name} has no endpoint available among ${this.size}${ejected > 0 ? ` (${ejected} ejected by outlier detection)` : ''}`,
        { details: { cluster: this.name } },
      );
    }
    return i;
  }

  /**
   * Records how a call to endpoint `index` (of this snapshot's list) ended, on
   * the host with that identity; ignored when the latest snapshot dropped it.
   */
  report(index: number, outcome: OutlierOutcome): void {
    const r = this.resilience;
    const detector = r.detector;
    if (detector === undefined || index < 0 || index >= this.endpoints.length) return;
    if (r.endpoints === this.endpoints) detector.report(index, outcome);
    else {
      const j = this.latestIndex(index);
      if (j >= 0) detector.report(j, outcome);
    }
  }

  /** The index in the resilience state's (latest) list of this snapshot's endpoint `i`, or -1 when the latest has none such. */
  private latestIndex(i: number): number {
    const latest = this.resilience.endpoints;
    let map = this.toLatest;
    if (map === undefined || map.latest !== latest) {
      const index = new Int32Array(this.endpoints.length);
      this.endpoints.forEach((e, k) => (index[k] = this.resilience.indexOf(e.address, e.port)));
      this.toLatest = map = { latest, index };
    }
    return map.index[i] ?? -1;
  }

  /** Picks the host for one call, or throws NO_HEALTHY_UPSTREAM. */
  pick(codecFactory: CodecFactory, hashKey?: bigint): UpstreamHost {
    return this.context(codecFactory).hosts[this.pickIndex(codecFactory, hashKey)]!;
  }

  /** @internal The protocols this cluster has hosts for: a Cluster built for the next snapshot prepares the same ones (prepareSteps). */
  codecFactories(): IterableIterator<CodecFactory> {
    return this.contexts.keys();
  }

  /**
   * @internal
   * Makes the hosts of one protocol in steps of HOSTS_PER_STEP endpoints,
   * for the sliced build of a new snapshot. Otherwise the first call on the
   * new Cluster made them all at once (1.5-4.4 ms for 1000 endpoints whose
   * hosts the pool already had, more with new hosts), and so did the swap
   * for every cluster the open services route to (preconnect): one step per
   * swap of up to hundreds of milliseconds when an app calls many services.
   */
  *prepareSteps(codecFactory: CodecFactory): Steps<void> {
    if (this.contexts.has(codecFactory)) return;
    const acquire = this.acquirer(codecFactory);
    const endpoints = this.config.endpoints;
    const hosts = new Array<UpstreamHost>(endpoints.length);
    for (let i = 0; i < endpoints.length; i++) {
      hosts[i] = acquire(endpoints[i]!); // i < length
      if ((i + 1) % HOSTS_PER_STEP === 0) yield;
    }
    // A call between the steps made them already: its hosts stay.
    if (!this.contexts.has(codecFactory)) this.contexts.set(codecFactory, newContext(hosts));
  }

  private context(codecFactory: CodecFactory): HostContext {
    let ctx = this.contexts.get(codecFactory);
    if (ctx === undefined) {
      ctx = newContext(this.config.endpoints.map(this.acquirer(codecFactory)));
      this.contexts.set(codecFactory, ctx);
    }
    return ctx;
  }

  private acquirer(codecFactory: CodecFactory): (e: Endpoint) => UpstreamHost {
    // This snapshot's transport settings (connect timeout, TLS) apply to every connect from now on.
    const transport = clusterTransport(this.config);
    const multiplexing = this.config.multiplexing ?? codecFactory.multiplexing === true;
    return (e) => this.pool.acquire(codecFactory, e.address, e.port, transport, multiplexing);
  }
}

/** Hosts acquired per step of prepareSteps (about a millisecond when the pool has them). */
const HOSTS_PER_STEP = 256;

function newContext(hosts: UpstreamHost[]): HostContext {
  return {
    hosts,
    hashKey: undefined,
    isAvailable: undefined,
    availabilityVersion: undefined,
    attempt: 0,
    activeRequests: (i) => hosts[i]!.active,
    addedAt: (i) => hosts[i]!.addedAt,
  };
}
