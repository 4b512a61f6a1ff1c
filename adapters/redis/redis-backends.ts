// RedisBackends: the Redis connections of one Mesh, shared by every client
// the mesh creates (one connection per server, one Cluster client per Redis
// Cluster, as Envoy keeps one upstream connection per host), keyed by what
// they connect to and how. A config change keeps backends the new config
// still uses and closes the others once calls that started before it finish.
import type { Mesh } from '../../lib/mesh';
import type { Snapshot } from '../../lib/config/model';
import { serviceKey, clusterName } from '../../lib/config/model';
import type { RedisServicePolicy } from '../../lib/config/redis-model';
import { ClusterBackend, ProxyBackend, type BackendSpec, type RedisBackend } from './redis-backend';
import { RedisServiceView } from './redis-service-view';

/** How long a backend the config no longer uses stays open for calls that started before the change. */
const RETIRE_AFTER_MS = 5_000;

const registries = new WeakMap<Mesh, RedisBackends>();

const DEFAULT_SETTINGS = Object.freeze({
  caseInsensitive: false,
  opTimeoutMs: 60_000,
  enableCommandStats: false,
  maxBufferSizeBeforeFlush: 0,
  bufferFlushTimeoutMs: 3,
  enableHashtagging: false,
  enableRedirection: false,
  maxUpstreamUnknownConnections: 100,
  readPolicy: 'MASTER' as const,
});

export class RedisBackends {
  private readonly backends = new Map<string, RedisBackend>();
  private readonly connections = new Map<string, number>();
  private readonly retiring = new Set<RedisBackend>();
  private readonly views = new WeakMap<Snapshot, Map<string, RedisServiceView | Error>>();
  private closed = false;

  static of(mesh: Mesh): RedisBackends {
    let r = registries.get(mesh);
    if (r === undefined) {
      r = new RedisBackends(mesh);
      registries.set(mesh, r);
    }
    return r;
  }

  private constructor(private readonly mesh: Mesh) {
    mesh.onClose(() => this.close());
    mesh.on('config', (snapshot) => this.retireUnused(snapshot));
  }

  /** The view of host:port under a snapshot, or an Error naming the missing config. */
  view(snapshot: Snapshot, host: string, port: number): RedisServiceView | Error {
    let perSnapshot = this.views.get(snapshot);
    if (perSnapshot === undefined) {
      perSnapshot = new Map();
      this.views.set(snapshot, perSnapshot);
    }
    const key = serviceKey(host, port);
    let view = perSnapshot.get(key);
    if (view === undefined) {
      view = this.build(snapshot, host, port);
      perSnapshot.set(key, view);
    }
    return view;
  }

  /** Counts one more connection to a RedisDestination host; false when its maxConnections is reached. */
  readonly admit = (host: string): boolean => {
    const limit = this.mesh.snapshot.redis?.destinations.get(host)?.maxConnections;
    const open = this.connections.get(host) ?? 0;
    if (limit !== undefined && open >= limit) return false;
    this.connections.set(host, open + 1);
    return true;
  };

  readonly release = (host: string): void => {
    this.connections.set(host, Math.max(0, (this.connections.get(host) ?? 0) - 1));
  };

  /** Open backend connections, for dumps and tests. */
  get openConnections(): number {
    let n = 0;
    for (const b of this.backends.values()) n += b.connections;
    return n;
  }

  private build(snapshot: Snapshot, host: string, port: number): RedisServiceView | Error {
    const source = (spec: BackendSpec) => this.backend(spec);
    const service = snapshot.services.get(serviceKey(host, port));
    if (service === undefined) {
      if (this.mesh.options.outboundTrafficPolicy !== 'ALLOW_ANY') {
        return new Error(
          `ERR meta-mesh: no ServiceEntry declares ${host} port ${port}; add one (port name tcp-redis) to the mesh config, or start the mesh with outboundTrafficPolicy: 'ALLOW_ANY'`,
        );
      }
      return new RedisServiceView(defaultPolicy(host, port, `passthrough|${host}:${port}`), snapshot, source, { address: host, port });
    }
    const policy = snapshot.redis?.services.get(serviceKey(host, port)) ?? defaultPolicy(host, port, clusterName(host, port));
    return new RedisServiceView(policy, snapshot, source);
  }

  private backend(spec: BackendSpec): RedisBackend {
    let b = this.backends.get(spec.key);
    if (b === undefined) {
      if (spec.mode === 'CLUSTER') {
        this.admit(spec.host);
        b = new ClusterBackend(spec, this.release);
      } else b = new ProxyBackend(spec, this.admit, this.release);
      if (this.closed) void b.close();
      else this.backends.set(spec.key, b);
    }
    return b;
  }

  /** Closes, after a grace period, the backends no service of the new config routes to. */
  private retireUnused(snapshot: Snapshot): void {
    const used = new Set<string>();
    for (const service of snapshot.services.values()) {
      if (service.protocol !== 'redis') continue;
      const view = this.view(snapshot, service.host, service.port);
      if (view instanceof Error) continue;
      for (const s of view.specs()) used.add(s.key);
    }
    const retired: RedisBackend[] = [];
    for (const [key, b] of this.backends) {
      if (used.has(key)) continue;
      this.backends.delete(key);
      retired.push(b);
    }
    if (retired.length === 0) return;
    for (const b of retired) this.retiring.add(b);
    setTimeout(() => {
      for (const b of retired) {
        this.retiring.delete(b);
        void b.close();
      }
    }, RETIRE_AFTER_MS).unref();
  }

  private async close(): Promise<void> {
    this.closed = true;
    const all = [...this.backends.values(), ...this.retiring];
    this.backends.clear();
    this.retiring.clear();
    await Promise.allSettled(all.map((b) => b.close()));
  }
}

/** A service with no RedisService: every key to the service's own cluster (Aeraki's catch-all). */
function defaultPolicy(host: string, port: number, cluster: string): RedisServicePolicy {
  return Object.freeze({
    host,
    routes: Object.freeze([]),
    catchAll: Object.freeze({ removePrefix: false, target: Object.freeze({ host, port, cluster }), mirrors: Object.freeze([]) }),
    settings: DEFAULT_SETTINGS,
    faults: Object.freeze([]),
  });
}
