// A Snapshot built in a worker thread, moved to the main thread in parts.
// Copying a message between threads (structured clone) builds its whole
// object graph on the receiving side in one go, so a 100k-endpoint snapshot
// sent as one message would hold the main loop for a long time. Each part
// here carries at most about PART_UNITS endpoints or routes; the receiver
// rebuilds and freezes one part per message, and asks for the next
// (config-parse-worker.ts), so a turn of the loop handles one small part.
//
// Endpoints travel once each, in their own parts; a cluster names its
// endpoints by number. That keeps an endpoint the whole-service cluster and a
// subset cluster share one object, as buildSnapshot made it.

import { type ClusterConfig, type Endpoint, type RouteConfig, type Service, type Snapshot, serviceKey } from './model';

/** Endpoints or routes per part: a part is read and frozen in a few milliseconds. */
export const PART_UNITS = 1000;

type ClusterPart = Omit<ClusterConfig, 'endpoints'> & { readonly endpoints: Uint32Array };

export type SnapshotPart =
  | { readonly kind: 'endpoints'; readonly endpoints: readonly Endpoint[] }
  | { readonly kind: 'clusters'; readonly clusters: readonly ClusterPart[] }
  | { readonly kind: 'services'; readonly services: readonly Service[] }
  | { readonly kind: 'routeConfigs'; readonly routeConfigs: readonly RouteConfig[] }
  | { readonly kind: 'rest'; readonly rest: Pick<Snapshot, 'version' | 'security' | 'redis' | 'warnings'> };

/** The parts of `snapshot`, in an order SnapshotAssembly rebuilds it from. */
export function* snapshotParts(snapshot: Snapshot, units = PART_UNITS): Generator<SnapshotPart, void, void> {
  const ids = new Map<Endpoint, number>();
  let endpoints: Endpoint[] = [];
  let clusters: ClusterPart[] = [];
  let clusterUnits = 0;
  for (const cluster of snapshot.clusters.values()) {
    const refs = new Uint32Array(cluster.endpoints.length);
    for (const [i, e] of cluster.endpoints.entries()) {
      let id = ids.get(e);
      if (id === undefined) {
        id = ids.size;
        ids.set(e, id);
        endpoints.push(e);
        if (endpoints.length >= units) {
          yield { kind: 'endpoints', endpoints };
          endpoints = [];
        }
      }
      refs[i] = id;
    }
    clusters.push({ ...cluster, endpoints: refs });
    clusterUnits += 1 + (refs.length >> 6);
    if (clusterUnits >= units) {
      // Endpoints first: a cluster part only names endpoints already sent.
      if (endpoints.length > 0) yield { kind: 'endpoints', endpoints };
      endpoints = [];
      yield { kind: 'clusters', clusters };
      clusters = [];
      clusterUnits = 0;
    }
  }
  if (endpoints.length > 0) yield { kind: 'endpoints', endpoints };
  if (clusters.length > 0) yield { kind: 'clusters', clusters };

  const services = [...snapshot.services.values()];
  for (let i = 0; i < services.length; i += units) yield { kind: 'services', services: services.slice(i, i + units) };

  let routeConfigs: RouteConfig[] = [];
  let routes = 0;
  for (const config of snapshot.routeConfigs.values()) {
    routeConfigs.push(config);
    routes += 1 + config.routes.length;
    if (routes >= units) {
      yield { kind: 'routeConfigs', routeConfigs };
      routeConfigs = [];
      routes = 0;
    }
  }
  if (routeConfigs.length > 0) yield { kind: 'routeConfigs', routeConfigs };

  const { version, security, redis, warnings } = snapshot;
  yield { kind: 'rest', rest: { version, warnings, ...(security === undefined ? {} : { security }), ...(redis === undefined ? {} : { redis }) } };
}

/** Rebuilds a Snapshot from its parts, each frozen as it arrives (a model object is immutable). */
export class SnapshotAssembly {
  private readonly endpoints: Endpoint[] = [];
  private readonly clusters = new Map<string, ClusterConfig>();
  private readonly services = new Map<string, Service>();
  private readonly routeConfigs = new Map<string, RouteConfig>();
  private rest: Pick<Snapshot, 'version' | 'security' | 'redis' | 'warnings'> | undefined;

  add(part: SnapshotPart): void {
    switch (part.kind) {
      case 'endpoints':
        for (const e of part.endpoints) this.endpoints.push(deepFreeze(e));
        return;
      case 'clusters':
        for (const c of part.clusters) {
          const endpoints = Array.from(c.endpoints, (id) => {
            const e = this.endpoints[id];
            if (e === undefined) throw new Error(`cluster ${c.name} names endpoint ${id}, which was not sent`);
            return e;
          });
          this.clusters.set(c.name, deepFreeze({ ...c, endpoints }));
        }
        return;
      case 'services':
        for (const s of part.services) this.services.set(serviceKey(s.host, s.port), deepFreeze(s));
        return;
      case 'routeConfigs':
        for (const r of part.routeConfigs) this.routeConfigs.set(r.name, deepFreeze(r));
        return;
      case 'rest':
        this.rest = deepFreeze(part.rest);
        return;
    }
  }

  /** The snapshot, once the last part (`rest`) has arrived. */
  finish(): Snapshot {
    if (this.rest === undefined) throw new Error('the snapshot ended before its last part');
    const { version, security, redis, warnings } = this.rest;
    return Object.freeze({
      version,
      services: this.services,
      clusters: this.clusters,
      routeConfigs: this.routeConfigs,
      ...(security === undefined ? {} : { security }),
      ...(redis === undefined ? {} : { redis }),
      warnings,
    });
  }
}

/** Freezes plain objects and arrays all the way down (maps stay maps; their values are frozen). */
function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  if (value instanceof Map) {
    for (const v of value.values()) deepFreeze(v);
    return value;
  }
  if (ArrayBuffer.isView(value)) return value;
  for (const v of Object.values(value)) deepFreeze(v);
  return Object.freeze(value);
}
