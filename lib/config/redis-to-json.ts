// redisToJSON: the Redis part of a Snapshot (RedisService routes and
// settings, RedisDestination mode and endpoints) as plain JSON, for
// `meta-mesh dump` and the admin /config_dump. Passwords never appear: a
// credential shows only its username and that a password is set.
import type { Snapshot } from './model';
import type { RedisCredentials, RedisDestinationPolicy, RedisRoute, RedisServicePolicy, RedisTarget } from './redis-model';

export interface RedisJSON {
  /** By service `host:port`. */
  readonly services: Record<string, unknown>;
  /** By RedisDestination host. */
  readonly destinations: Record<string, unknown>;
}

export function redisToJSON(snapshot: Snapshot): RedisJSON | undefined {
  const redis = snapshot.redis;
  if (redis === undefined || (redis.services.size === 0 && redis.destinations.size === 0)) return undefined;
  const services: Record<string, unknown> = {};
  for (const [key, policy] of redis.services) services[key] = serviceJSON(snapshot, policy);
  const destinations: Record<string, unknown> = {};
  for (const [host, dest] of redis.destinations) destinations[host] = destinationJSON(dest);
  return { services, destinations };
}

function serviceJSON(snapshot: Snapshot, p: RedisServicePolicy): unknown {
  const { auth, ...settings } = p.settings;
  return {
    host: p.host,
    routes: p.routes.map((r) => routeJSON(snapshot, r)),
    ...(p.catchAll === undefined ? {} : { catchAll: routeJSON(snapshot, p.catchAll) }),
    settings: { ...settings, ...(auth === undefined ? {} : { auth: credentialsJSON(auth) }) },
    faults: p.faults,
    ...(p.source === undefined ? {} : { source: p.source }),
  };
}

function routeJSON(snapshot: Snapshot, r: RedisRoute): unknown {
  return {
    ...(r.prefix === undefined ? {} : { prefix: r.prefix }),
    removePrefix: r.removePrefix,
    target: targetJSON(snapshot, r.target),
    mirrors: r.mirrors.map((m) => ({ target: targetJSON(snapshot, m.target), fraction: m.fraction, excludeReadCommands: m.excludeReadCommands })),
  };
}

/** A route target with how the mesh reaches it: the mode and the servers (or cluster seeds). */
function targetJSON(snapshot: Snapshot, t: RedisTarget): unknown {
  const dest = snapshot.redis?.destinations.get(t.host);
  const mode = dest?.mode ?? 'PROXY';
  const seeds = mode === 'CLUSTER' && dest !== undefined && dest.discoveryEndpoints.length > 0;
  const endpoints = seeds
    ? dest.discoveryEndpoints.map((e) => `${e.host}:${e.port === 0 ? t.port : e.port}`)
    : (snapshot.clusters.get(t.cluster)?.endpoints ?? []).filter((e) => e.healthy !== false).map((e) => `${e.address}:${e.port}`);
  return { host: t.host, port: t.port, cluster: t.cluster, mode, endpoints };
}

function destinationJSON(d: RedisDestinationPolicy): unknown {
  const { auth, discoveryEndpoints, ...rest } = d;
  return {
    ...rest,
    discoveryEndpoints: discoveryEndpoints.map((e) => (e.port === 0 ? e.host : `${e.host}:${e.port}`)),
    ...(auth === undefined ? {} : { auth: credentialsJSON(auth) }),
  };
}

function credentialsJSON(c: RedisCredentials): unknown {
  return { ...(c.username === undefined ? {} : { username: c.username }), password: '(set, not shown)' };
}
