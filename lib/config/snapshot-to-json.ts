// snapshotToJSON: a Snapshot as plain JSON (maps become objects keyed by
// name), for `meta-mesh dump` and debugging.

import { ClusterConfig, RouteConfig, Service, Snapshot } from './model';
import { redisToJSON, type RedisJSON } from './redis-to-json';

export interface SnapshotJSON {
  readonly version: string;
  readonly services: Record<string, Service>;
  readonly clusters: Record<string, ClusterConfig>;
  readonly routeConfigs: Record<string, RouteConfig>;
  readonly warnings: string[];
  /** RedisService/RedisDestination config (passwords never shown), when there is any. */
  readonly redis?: RedisJSON;
}

export function snapshotToJSON(snapshot: Snapshot): SnapshotJSON {
  // A round trip through JSON drops frozenness and undefined fields, so the result is plain data.
  return JSON.parse(
    JSON.stringify({
      version: snapshot.version,
      services: Object.fromEntries(snapshot.services),
      clusters: Object.fromEntries(snapshot.clusters),
      routeConfigs: Object.fromEntries(snapshot.routeConfigs),
      warnings: snapshot.warnings,
      redis: redisToJSON(snapshot),
    }),
  ) as SnapshotJSON;
}
