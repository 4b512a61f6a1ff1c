// RedisServiceView: one Redis service port as one config snapshot sees it:
// its compiled key routes, settings, faults, and the backend of each route
// target. Built once per snapshot; a command captures the view it started on.
import type { Snapshot } from '../../lib/config/model';
import type { RedisServicePolicy, RedisTarget } from '../../lib/config/redis-model';
import { KeyRouter } from './key-router';
import type { LbOptions } from '../../lib/config/model';
import type { BackendEndpoint, BackendSpec, RedisBackend } from './redis-backend';

export type BackendSource = (spec: BackendSpec) => RedisBackend;

export class RedisServiceView {
  readonly router: KeyRouter;
  private readonly backends = new Map<string, RedisBackend | Error>();

  constructor(
    readonly policy: RedisServicePolicy,
    private readonly snapshot: Snapshot,
    private readonly source: BackendSource,
    /** Set for a host no ServiceEntry declares, under ALLOW_ANY: the one address to send to. */
    private readonly direct?: { readonly address: string; readonly port: number },
  ) {
    this.router = new KeyRouter(policy);
  }

  get settings() {
    return this.policy.settings;
  }

  /** The backend of a route target, or an Error saying what config is missing. */
  backend(target: RedisTarget): RedisBackend | Error {
    let b = this.backends.get(target.cluster);
    if (b === undefined) {
      b = this.build(target);
      this.backends.set(target.cluster, b);
    }
    return b;
  }

  /** The backend specs this view's routes and mirrors use (to keep them across a config change). */
  specs(): BackendSpec[] {
    const out: BackendSpec[] = [];
    for (const route of this.router.all) {
      for (const t of [route.target, ...route.mirrors.map((m) => m.target)]) {
        const s = this.spec(t);
        if (!(s instanceof Error)) out.push(s);
      }
    }
    return out;
  }

  private build(target: RedisTarget): RedisBackend | Error {
    const spec = this.spec(target);
    return spec instanceof Error ? spec : this.source(spec);
  }

  private spec(target: RedisTarget): BackendSpec | Error {
    const dest = this.snapshot.redis?.destinations.get(target.host);
    const cluster = this.snapshot.clusters.get(target.cluster);
    const mode = dest?.mode ?? 'PROXY';
    let endpoints: BackendEndpoint[];
    if (this.direct !== undefined) endpoints = [this.direct];
    else if (mode === 'CLUSTER' && dest !== undefined && dest.discoveryEndpoints.length > 0) {
      endpoints = dest.discoveryEndpoints.map((e) => ({ address: e.host, port: e.port === 0 ? target.port : e.port }));
    } else if (mode === 'CLUSTER') {
      endpoints = (cluster?.endpoints ?? []).filter((e) => e.healthy !== false).map((e) => ({ address: e.address, port: e.port }));
    } else {
      // PROXY: every server with its EDS health and weight; the maglev pick leaves the unhealthy out unless in panic, as Envoy.
      endpoints = (cluster?.endpoints ?? []).map((e) => ({ address: e.address, port: e.port, ...(e.weight === 1 ? {} : { weight: e.weight }), ...(e.healthy === false ? { healthy: false } : {}) }));
    }
    if (endpoints.length === 0) {
      return new Error(`ERR meta-mesh: cluster ${target.cluster} has no endpoints; declare them in the ServiceEntry of ${target.host} (or discoveryEndpoints in its RedisDestination)`);
    }
    const s = this.policy.settings;
    const spec = {
      mode,
      host: target.host,
      cluster: target.cluster,
      endpoints,
      ...(dest?.auth === undefined ? {} : { auth: dest.auth }),
      ...(dest?.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: dest.connectTimeoutMs }),
      readPolicy: s.readPolicy,
      enableHashtagging: s.enableHashtagging,
      enableRedirection: s.enableRedirection,
      maxUpstreamUnknownConnections: s.maxUpstreamUnknownConnections,
      maxBufferSizeBeforeFlush: s.maxBufferSizeBeforeFlush,
      bufferFlushTimeoutMs: s.bufferFlushTimeoutMs,
      ...(cluster?.outlierDetection === undefined ? {} : { outlierDetection: cluster.outlierDetection }),
      ...(mode === 'PROXY' ? proxyLbOf(cluster?.lb) : {}),
    };
    return { key: JSON.stringify(spec), ...spec };
  }
}

/** The balancer options a PROXY pick honours as Envoy's cluster would: the panic threshold and the maglev table size. */
function proxyLbOf(lb: LbOptions | undefined): { lb?: NonNullable<BackendSpec['lb']> } {
  if (lb === undefined) return {};
  const out = {
    ...(lb.healthyPanicThreshold === undefined ? {} : { healthyPanicThreshold: lb.healthyPanicThreshold }),
    ...(lb.maglev === undefined ? {} : { maglev: lb.maglev }),
  };
  return Object.keys(out).length === 0 ? {} : { lb: out };
}
