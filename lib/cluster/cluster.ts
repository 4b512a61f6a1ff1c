// Cluster: the runtime side of one configured cluster (a service, or one
// subset of it): its endpoints, its balancer, its resilience state (carried
// across snapshots), and the upstream hosts behind the endpoints for each
// protocol that calls it. Built once per config snapshot.
import type { Cluster as ClusterConfig } from '../config/model';
import type { CodecFactory } from '../protocol/codec';
import { MeshError, MeshErrorCode } from '../protocol/mesh-error';
import type { UpstreamHost } from '../upstream/upstream-host';
import type { UpstreamPool } from '../upstream/upstream-pool';
import { clusterTransport } from '../upstream/upstream-transport';
import type { ClusterResilience } from './cluster-resilience';
import { ClusterResilience as NewResilience } from './cluster-resilience';
import { loadBalancerFactory, type LoadBalancer } from './lb/load-balancer';
import { RoundRobin } from './lb/round-robin';
import './lb';

/** The pick context of one protocol's hosts, reused for every pick so a pick allocates nothing. */
interface HostContext {
  readonly hosts: UpstreamHost[];
  hashKey: bigint | undefined;
  isAvailable: ((i: number) => boolean) | undefined;
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

  constructor(
    readonly config: ClusterConfig,
    private readonly pool: UpstreamPool,
    resilience?: ClusterResilience,
  ) {
    this.name = config.name;
    this.resilience = resilience ?? new NewResilience(config);
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
    const detector = this.resilience.detector;
    const available = detector === undefined ? undefined : detector.isAvailable;
    ctx.hashKey = hashKey;
    let i = -1;
    if (tried !== undefined && tried.length > 0) {
      ctx.isAvailable = (j) => !tried.includes(j) && (available === undefined || available(j));
      i = this.balancer.pick(ctx);
    }
    if (i < 0) {
      ctx.isAvailable = available;
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

  /** Picks the host for one call, or throws NO_HEALTHY_UPSTREAM. */
  pick(codecFactory: CodecFactory, hashKey?: bigint): UpstreamHost {
    return this.context(codecFactory).hosts[this.pickIndex(codecFactory, hashKey)]!;
  }

  private context(codecFactory: CodecFactory): HostContext {
    let ctx = this.contexts.get(codecFactory);
    if (ctx === undefined) {
      // This snapshot's transport settings (connect timeout, TLS) apply to every connect from now on.
      const transport = clusterTransport(this.config);
      const hosts = this.config.endpoints.map((e) => this.pool.acquire(codecFactory, e.address, e.port, transport));
      ctx = {
        hosts,
        hashKey: undefined,
        isAvailable: undefined,
        activeRequests: (i) => hosts[i]!.active,
        addedAt: (i) => hosts[i]!.addedAt,
      };
      this.contexts.set(codecFactory, ctx);
    }
    return ctx;
  }
}
