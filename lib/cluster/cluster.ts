// Cluster: the runtime side of one configured cluster (a service, or one
// subset of it): its endpoints, its balancer, and the upstream hosts behind the
// endpoints for each protocol that calls it. Built once per config snapshot.
import type { Cluster as ClusterConfig } from '../config/model';
import type { CodecFactory } from '../protocol/codec';
import { MeshError, MeshErrorCode } from '../protocol/mesh-error';
import type { UpstreamHost } from '../upstream/upstream-host';
import type { UpstreamPool } from '../upstream/upstream-pool';
import { loadBalancerFactory, type LoadBalancer, type PickContext } from './lb/load-balancer';
import { RoundRobin } from './lb/round-robin';
import './lb';

export class Cluster {
  readonly name: string;
  readonly balancer: LoadBalancer;
  /** lbPolicy had no registered balancer, so round robin stands in. */
  readonly balancerFallback: boolean;
  private readonly hostsByProtocol = new Map<CodecFactory, UpstreamHost[]>();

  constructor(
    readonly config: ClusterConfig,
    private readonly pool: UpstreamPool,
  ) {
    this.name = config.name;
    const factory = loadBalancerFactory(config.lbPolicy);
    this.balancerFallback = factory === undefined;
    this.balancer = factory === undefined ? new RoundRobin(config.endpoints) : factory(config.endpoints, config);
  }

  get size(): number {
    return this.config.endpoints.length;
  }

  /** The upstream hosts of this cluster's endpoints for one protocol, in endpoint order. */
  hosts(codecFactory: CodecFactory): UpstreamHost[] {
    let hosts = this.hostsByProtocol.get(codecFactory);
    if (hosts === undefined) {
      hosts = this.config.endpoints.map((e) => this.pool.acquire(codecFactory, e.address, e.port, this.config.connectTimeoutMs));
      this.hostsByProtocol.set(codecFactory, hosts);
    }
    return hosts;
  }

  /** Picks the host for one call, or throws NO_HEALTHY_UPSTREAM. */
  pick(codecFactory: CodecFactory, context?: PickContext): UpstreamHost {
    const hosts = this.hosts(codecFactory);
    const i = this.balancer.pick(context);
    if (i < 0) {
      throw new MeshError(
        MeshErrorCode.NO_HEALTHY_UPSTREAM,
        this.size === 0
          ? `cluster ${this.name} has no endpoints; check the ServiceEntry endpoints and the DestinationRule subset labels`
          : `cluster ${this.name} has no endpoint available among ${this.size}`,
        { details: { cluster: this.name } },
      );
    }
    return hosts[i]!;
  }
}
