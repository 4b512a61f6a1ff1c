// RedisService and RedisDestination manifests → the Redis part of a Snapshot.
// Routes resolve to clusters of ServiceEntry hosts, as Aeraki's redis plugin
// builds Envoy redis_proxy prefix routes; secrets are read from a mounted
// secret directory (<dir>/<name>/<field>) here, at the edge, so a missing one
// is a config problem with its file and line, and the last good config stays.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { resolveHostName } from './host-name';
import { Manifest } from './manifest-types';
import { FieldPath, ManifestDocument } from './manifest-document';
import { Service, clusterName, serviceKey } from './model';
import {
  RedisAddress,
  RedisConfig,
  RedisCredentials,
  RedisDestinationPolicy,
  RedisFault,
  RedisMirrorPolicy,
  RedisReadPolicy,
  RedisRoute,
  RedisServicePolicy,
  RedisTarget,
  isRedisPortName,
} from './redis-model';

/** Where Kubernetes secrets are mounted when the Mesh option `secretDir` is not set. */
export const DEFAULT_SECRET_DIR = '/var/run/secrets/meta-mesh';

/** Envoy redis_proxy's default max_upstream_unknown_connections. */
const DEFAULT_MAX_UNKNOWN_CONNECTIONS = 100;

/** Aeraki's redis_proxy default op_timeout. */
const DEFAULT_OP_TIMEOUT_MS = 60_000;

type List<T> = readonly (T | undefined)[];

export interface AuthSpec {
  readonly plain?: { readonly password?: string; readonly username?: string };
  readonly secret?: { readonly name?: string; readonly passwordField?: string; readonly usernameField?: string };
}

interface DestinationSpec {
  readonly host?: string;
  readonly port?: number;
}

export interface RedisServiceSpec {
  readonly host?: List<string>;
  readonly settings?: {
    readonly caseInsensitive?: boolean;
    readonly opTimeout?: number;
    readonly enableCommandStats?: boolean;
    readonly maxBufferSizeBeforeFlush?: number;
    readonly bufferFlushTimeout?: number;
    readonly enableHashtagging?: boolean;
    readonly enableRedirection?: boolean;
    readonly maxUpstreamUnknownConnections?: number;
    readonly readPolicy?: string;
    readonly auth?: AuthSpec;
  };
  readonly redis?: List<{
    readonly match?: { readonly key?: { readonly prefix?: string; readonly removePrefix?: boolean } };
    readonly route?: DestinationSpec;
    readonly mirror?: List<{ readonly route?: DestinationSpec; readonly percentage?: { readonly value?: number }; readonly excludeReadCommands?: boolean }>;
  }>;
  readonly faults?: List<{ readonly type?: string; readonly percentage?: { readonly value?: number }; readonly delay?: number; readonly commands?: List<string> }>;
}

export interface RedisDestinationSpec {
  readonly host?: string;
  readonly trafficPolicy?: {
    readonly connectionPool?: {
      readonly tcp?: { readonly maxConnections?: number; readonly connectTimeout?: number };
      readonly redis?: { readonly mode?: string; readonly auth?: AuthSpec; readonly discoveryEndpoints?: List<string> };
    };
  };
}

export interface RedisManifests {
  readonly redisServices: readonly Manifest<RedisServiceSpec>[];
  readonly redisDestinations: readonly Manifest<RedisDestinationSpec>[];
}

/** Builds the Redis config of a snapshot; problems go to each manifest's document. */
export function buildRedisConfig(manifests: RedisManifests, services: readonly Service[], secretDir: string): RedisConfig {
  const portsByHost = new Map<string, Service[]>();
  for (const s of services) {
    const list = portsByHost.get(s.host) ?? [];
    list.push(s);
    portsByHost.set(s.host, list);
  }
  const out = new Map<string, RedisServicePolicy>();
  const owner = new Map<string, Manifest<RedisServiceSpec>>();
  for (const m of manifests.redisServices) {
    (m.spec.host ?? []).forEach((written, i) => {
      if (written === undefined) return;
      const host = resolveHostName(written, m.namespace);
      const where: FieldPath = ['spec', 'host', i];
      const first = owner.get(host);
      if (first !== undefined) {
        m.doc.problem(where, `host '${host}' already has a RedisService, ${first.doc.label} at ${first.doc.where(['spec', 'host'])}; put its routes in one RedisService`);
        return;
      }
      owner.set(host, m);
      const ports = (portsByHost.get(host) ?? []).filter((s) => isRedisPortName(s.portName));
      if (ports.length === 0) {
        m.doc.warn(where, `no ServiceEntry declares host '${host}' with a port named tcp-redis*, so this RedisService is not used`);
        return;
      }
      for (const listen of ports) out.set(serviceKey(host, listen.port), servicePolicy(m, host, listen, portsByHost, secretDir));
    });
  }
  const destinations = new Map<string, RedisDestinationPolicy>();
  const destOwner = new Map<string, Manifest<RedisDestinationSpec>>();
  for (const m of manifests.redisDestinations) {
    if (m.spec.host === undefined) continue;
    const host = resolveHostName(m.spec.host, m.namespace);
    const first = destOwner.get(host);
    if (first !== undefined) {
      m.doc.problem(['spec', 'host'], `host '${host}' already has a RedisDestination, ${first.doc.label} at ${first.doc.where(['spec', 'host'])}; keep one`);
      continue;
    }
    destOwner.set(host, m);
    if (!portsByHost.has(host)) m.doc.warn(['spec', 'host'], `no ServiceEntry declares host '${host}', so this RedisDestination is not used`);
    destinations.set(host, destinationPolicy(m, host, secretDir));
  }
  return Object.freeze({ services: out, destinations });
}

function servicePolicy(
  m: Manifest<RedisServiceSpec>,
  host: string,
  listen: Service,
  portsByHost: ReadonlyMap<string, Service[]>,
  secretDir: string,
): RedisServicePolicy {
  const doc = m.doc;
  const s = m.spec.settings ?? {};
  const routes: RedisRoute[] = [];
  let catchAll: RedisRoute | undefined;
  const prefixes = new Map<string, number>();
  (m.spec.redis ?? []).forEach((r, i) => {
    if (r?.route === undefined) return;
    const at: FieldPath = ['spec', 'redis', i];
    const target = resolveTarget(r.route, [...at, 'route'], m.namespace, doc, listen, portsByHost);
    const mirrors: RedisMirrorPolicy[] = [];
    (r.mirror ?? []).forEach((mr, j) => {
      if (mr?.route === undefined) return;
      const mt = resolveTarget(mr.route, [...at, 'mirror', j, 'route'], m.namespace, doc, listen, portsByHost);
      if (mt === undefined) return;
      mirrors.push(Object.freeze({ target: mt, fraction: (mr.percentage?.value ?? 100) / 100, excludeReadCommands: mr.excludeReadCommands === true }));
    });
    if (target === undefined) return;
    const key = r.match?.key;
    if (key === undefined) {
      if (catchAll !== undefined) doc.problem(at, 'a second route without match.key; only one catch-all route is allowed');
      catchAll = Object.freeze({ removePrefix: false, target, mirrors: Object.freeze(mirrors) });
      return;
    }
    const prefix = s.caseInsensitive === true ? (key.prefix ?? '').toLowerCase() : (key.prefix ?? '');
    const seen = prefixes.get(prefix);
    if (seen !== undefined) {
      doc.problem([...at, 'match', 'key', 'prefix'], `prefix '${prefix}' is also routed by spec.redis[${seen}]; each prefix may appear once`);
      return;
    }
    prefixes.set(prefix, i);
    routes.push(Object.freeze({ prefix, removePrefix: key.removePrefix === true, target, mirrors: Object.freeze(mirrors) }));
  });
  // Aeraki: no routes at all sends everything to the service itself.
  if (routes.length === 0 && catchAll === undefined && (m.spec.redis ?? []).length === 0) {
    catchAll = Object.freeze({ removePrefix: false, target: targetOf(host, listen.port), mirrors: Object.freeze([]) });
  }
  routes.sort((a, b) => b.prefix!.length - a.prefix!.length);
  const faults: RedisFault[] = [];
  (m.spec.faults ?? []).forEach((f) => {
    if (f === undefined) return;
    faults.push(
      Object.freeze({
        type: f.type === 'ERROR' ? 'ERROR' : 'DELAY',
        fraction: (f.percentage?.value ?? 0) / 100,
        delayMs: f.delay ?? 0,
        commands: Object.freeze((f.commands ?? []).filter((c): c is string => c !== undefined).map((c) => c.toLowerCase())),
      }),
    );
  });
  const auth = s.auth === undefined ? undefined : readAuth(s.auth, ['spec', 'settings', 'auth'], doc, secretDir);
  return Object.freeze({
    host,
    routes: Object.freeze(routes),
    ...(catchAll === undefined ? {} : { catchAll }),
    settings: Object.freeze({
      caseInsensitive: s.caseInsensitive === true,
      opTimeoutMs: s.opTimeout !== undefined && s.opTimeout > 0 ? s.opTimeout : DEFAULT_OP_TIMEOUT_MS,
      enableCommandStats: s.enableCommandStats === true,
      maxBufferSizeBeforeFlush: s.maxBufferSizeBeforeFlush ?? 0,
      bufferFlushTimeoutMs: s.bufferFlushTimeout ?? 3,
      enableHashtagging: s.enableHashtagging === true,
      enableRedirection: s.enableRedirection === true,
      maxUpstreamUnknownConnections: s.maxUpstreamUnknownConnections ?? DEFAULT_MAX_UNKNOWN_CONNECTIONS,
      readPolicy: (s.readPolicy ?? 'MASTER') as RedisReadPolicy,
      ...(auth === undefined ? {} : { auth }),
    }),
    faults: Object.freeze(faults),
    source: doc.where(['metadata', 'name']),
  });
}

function targetOf(host: string, port: number): RedisTarget {
  return Object.freeze({ host, port, cluster: clusterName(host, port) });
}

/** The route's host must be a ServiceEntry host; port 0 picks its port as Aeraki's findServicePort does. */
function resolveTarget(
  d: DestinationSpec,
  at: FieldPath,
  namespace: string,
  doc: ManifestDocument,
  listen: Service,
  portsByHost: ReadonlyMap<string, Service[]>,
): RedisTarget | undefined {
  if (d.host === undefined) return undefined;
  // Short names resolve as Istio resolves them: <name>.<namespace>.svc.cluster.local.
  const host = resolveHostName(d.host, namespace);
  const ports = portsByHost.get(host);
  if (ports === undefined || ports.length === 0) {
    doc.problem([...at, 'host'], `no ServiceEntry declares host '${host}'; declare it (with a port named tcp-redis) or route to a declared host`);
    return undefined;
  }
  if (d.port !== undefined && d.port !== 0) {
    if (!ports.some((p) => p.port === d.port)) {
      doc.problem([...at, 'port'], `host '${host}' has no port ${d.port}; its ports: ${ports.map((p) => p.port).join(', ')}`);
      return undefined;
    }
    return targetOf(host, d.port);
  }
  if (ports.length === 1) return targetOf(host, ports[0]!.port);
  const same = ports.find((p) => p.port === listen.port) ?? ports.find((p) => p.portName === listen.portName) ?? ports.find((p) => isRedisPortName(p.portName));
  return targetOf(host, (same ?? ports[0]!).port);
}

function destinationPolicy(m: Manifest<RedisDestinationSpec>, host: string, secretDir: string): RedisDestinationPolicy {
  const pool = m.spec.trafficPolicy?.connectionPool;
  const redis = pool?.redis;
  const at: FieldPath = ['spec', 'trafficPolicy', 'connectionPool', 'redis'];
  const auth = redis?.auth === undefined ? undefined : readAuth(redis.auth, [...at, 'auth'], m.doc, secretDir);
  const discovery: RedisAddress[] = [];
  (redis?.discoveryEndpoints ?? []).forEach((e, i) => {
    if (e === undefined) return;
    const parsed = parseAddress(e);
    if (parsed === undefined) m.doc.problem([...at, 'discoveryEndpoints', i], `'${e}' is not host or host:port (port 1-65535)`);
    else discovery.push(parsed);
  });
  const tcp = pool?.tcp;
  return Object.freeze({
    host,
    mode: redis?.mode === 'CLUSTER' ? 'CLUSTER' : 'PROXY',
    ...(auth === undefined ? {} : { auth }),
    discoveryEndpoints: Object.freeze(discovery),
    ...(tcp?.maxConnections === undefined || tcp.maxConnections === 0 ? {} : { maxConnections: tcp.maxConnections }),
    ...(tcp?.connectTimeout === undefined ? {} : { connectTimeoutMs: tcp.connectTimeout }),
  });
}

function parseAddress(text: string): RedisAddress | undefined {
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(text);
  if (m === null) return undefined;
  const host = m[1]!.replace(/^\[|\]$/g, '');
  if (m[2] === undefined) return { host, port: 0 };
  const port = Number(m[2]);
  return port >= 1 && port <= 65535 ? { host, port } : undefined;
}

/** Plain credentials, or a secret's files; Aeraki's field defaults: password (else token), username. */
function readAuth(spec: AuthSpec, at: FieldPath, doc: ManifestDocument, secretDir: string): RedisCredentials | undefined {
  if (spec.plain !== undefined) {
    if (spec.plain.password === undefined) return undefined;
    return Object.freeze({ password: spec.plain.password, ...(spec.plain.username ? { username: spec.plain.username } : {}) });
  }
  const secret = spec.secret;
  if (secret?.name === undefined) {
    if (spec.secret === undefined) doc.problem(at, 'set plain or secret');
    return undefined;
  }
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(secret.name)) {
    doc.problem([...at, 'secret', 'name'], `'${secret.name}' is not a Kubernetes secret name`);
    return undefined;
  }
  const dir = path.join(secretDir, secret.name);
  const fields = secret.passwordField ? [secret.passwordField] : ['password', 'token'];
  let password: string | undefined;
  for (const f of fields) {
    password = readField(dir, f);
    if (password !== undefined) break;
  }
  if (password === undefined) {
    doc.problem(
      [...at, 'secret', 'name'],
      `secret '${secret.name}' not found: no file ${fields.map((f) => path.join(dir, f)).join(' or ')}; mount the secret at ${dir} or start the mesh with secretDir set to where secrets are mounted`,
    );
    return undefined;
  }
  const username = readField(dir, secret.usernameField || 'username');
  if (secret.usernameField && username === undefined) {
    doc.problem([...at, 'secret', 'usernameField'], `secret '${secret.name}' has no field '${secret.usernameField}' (no file ${path.join(dir, secret.usernameField)})`);
  }
  return Object.freeze({ password, ...(username ? { username } : {}) });
}

function readField(dir: string, field: string): string | undefined {
  if (field.includes('/') || field.includes('\\') || field === '..' || field === '.') return undefined;
  try {
    return fs.readFileSync(path.join(dir, field), 'utf8').trim();
  } catch {
    return undefined;
  }
}
