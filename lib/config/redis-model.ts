// The Redis part of the configuration model: what RedisService and
// RedisDestination (redis.aeraki.io/v1alpha1) say, checked and resolved to
// clusters, durations in ms, secrets read. adapters/redis routes by it.

export type RedisReadPolicy = 'MASTER' | 'PREFER_MASTER' | 'REPLICA' | 'PREFER_REPLICA' | 'ANY';

/** Credentials sent with AUTH (username empty = the default user). */
export interface RedisCredentials {
  readonly username?: string;
  readonly password: string;
}

/** A route's destination: a ServiceEntry host and port, and its cluster. */
export interface RedisTarget {
  readonly host: string;
  readonly port: number;
  /** `outbound|<port>||<host>`. */
  readonly cluster: string;
}

export interface RedisMirrorPolicy {
  readonly target: RedisTarget;
  /** Share of commands mirrored, 0..1. */
  readonly fraction: number;
  /** Only write commands are mirrored (the command table's readonly flag decides). */
  readonly excludeReadCommands: boolean;
}

export interface RedisRoute {
  /** Key prefix; undefined for the catch-all route. */
  readonly prefix?: string;
  readonly removePrefix: boolean;
  readonly target: RedisTarget;
  readonly mirrors: readonly RedisMirrorPolicy[];
}

export interface RedisFault {
  readonly type: 'DELAY' | 'ERROR';
  /** 0..1 */
  readonly fraction: number;
  readonly delayMs: number;
  /** Lower-cased command names; empty = every command. */
  readonly commands: readonly string[];
}

export interface RedisSettings {
  readonly caseInsensitive: boolean;
  /** Per-command deadline, ms (Aeraki's default: one minute). */
  readonly opTimeoutMs: number;
  readonly enableCommandStats: boolean;
  readonly maxBufferSizeBeforeFlush: number;
  readonly bufferFlushTimeoutMs: number;
  readonly enableHashtagging: boolean;
  /** PROXY mode: follow MOVED/ASK replies to the server they name (CLUSTER mode always does). */
  readonly enableRedirection: boolean;
  /** PROXY mode: connections at most to servers a redirection names that are not endpoints (Envoy's default 100). */
  readonly maxUpstreamUnknownConnections: number;
  readonly readPolicy: RedisReadPolicy;
  /** When set, a client must AUTH with these before any other command. */
  readonly auth?: RedisCredentials;
}

/** One Redis service host (every `tcp-redis*` port of it) and how its commands are routed. */
export interface RedisServicePolicy {
  readonly host: string;
  /** Prefix routes, longest prefix first. */
  readonly routes: readonly RedisRoute[];
  /** Keys no prefix matches (and keyless commands) go here; none = an error for them. */
  readonly catchAll?: RedisRoute;
  readonly settings: RedisSettings;
  readonly faults: readonly RedisFault[];
  /** `file:line` of the RedisService, for messages. */
  readonly source?: string;
}

export interface RedisAddress {
  readonly host: string;
  readonly port: number;
}

/** How to reach a Redis host's backends: independent servers (PROXY) or a Redis Cluster. */
export interface RedisDestinationPolicy {
  readonly host: string;
  readonly mode: 'PROXY' | 'CLUSTER';
  readonly auth?: RedisCredentials;
  /** CLUSTER seeds; empty = the ServiceEntry's endpoints. Entries without a port use the service port (0 here). */
  readonly discoveryEndpoints: readonly RedisAddress[];
  /** Backend connections open at once across the mesh for this host; undefined = no limit. */
  readonly maxConnections?: number;
  readonly connectTimeoutMs?: number;
}

export interface RedisConfig {
  /** By service key `host:port` (every tcp-redis* port of a RedisService host). */
  readonly services: ReadonlyMap<string, RedisServicePolicy>;
  /** By RedisDestination host. */
  readonly destinations: ReadonlyMap<string, RedisDestinationPolicy>;
}

/** Aeraki sends any port named tcp-redis* to its redis_proxy. */
export function isRedisPortName(name: string): boolean {
  return name.startsWith('tcp-redis');
}
