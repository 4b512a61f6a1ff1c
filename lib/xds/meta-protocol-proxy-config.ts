// The MetaProtocolProxy network filter config Aeraki puts in a sidecar's
// outbound listener (istiod LDS, from Aeraki's EnvoyFilter) → the settings of
// one route config `<host>_<port>`: codec, local and global rate limits,
// tracing sampling, access log. The config arrives either as the binary
// message (type URL aeraki.meta_protocol_proxy.v1alpha.MetaProtocolProxy) or,
// as istiod sends an EnvoyFilter patch it has no proto for, as a TypedStruct
// whose Struct is the message's proto3 JSON (camelCase names, "60s"
// durations, nested Any as {"@type": ...}). Both are read by the same code
// after JSON names are turned into .proto names.
import type { GlobalRateLimit, LocalRateLimit, TokenBucketPolicy, TracingSampling } from '../config/model';
import { MeshError, MeshErrorCode } from '../protocol';
import type { HeaderMatcherProto } from './envoy-types';
import { TYPE_LOCAL_RATE_LIMIT, TYPE_META_PROTOCOL_PROXY, TYPE_RATE_LIMIT, TYPE_UDPA_TYPED_STRUCT, TYPE_XDS_TYPED_STRUCT, decodeAs } from './lds-protos';
import { matchersFromXds } from './route-config-from-xds';

/** What one MetaProtocolProxy filter says about the route config(s) it serves. */
export interface ListenerServiceConfig {
  /**
   * Outbound: the route config (`<host>_<port>`) the filter asks MetaRDS for. Inbound (Aeraki puts
   * rate limits there): `<host>_<port>` when the local rate limit names the host (its stat_prefix is
   * the MetaRouter's first host), else `*_<port>`: every route config of that port this process serves.
   */
  readonly routeConfigName: string;
  readonly direction: 'outbound' | 'inbound';
  readonly statPrefix?: string;
  /** The codec name (protocol.codec.name, else the deprecated codec.name). */
  readonly codec?: string;
  readonly localRateLimit?: LocalRateLimit;
  readonly globalRateLimit?: GlobalRateLimit;
  readonly tracing?: TracingSampling;
  /** Names of the access loggers the filter lists (the Mesh's own accessLog option decides where lines go). */
  readonly accessLogs: readonly string[];
}

/** Envoy rejects fill intervals under 50 ms (LocalRateLimit). */
const MIN_FILL_INTERVAL_MS = 50;
/** The RateLimit filter's documented default timeout. */
const DEFAULT_RLS_TIMEOUT_MS = 20;

const LOCAL_RATE_LIMIT = 'aeraki.meta_protocol.filters.local_ratelimit';
const RATE_LIMIT = 'aeraki.meta_protocol.filters.ratelimit';

type Obj = Record<string, unknown>;

/** True for a filter typed config that carries a MetaProtocolProxy (directly or in a TypedStruct). */
export function isMetaProtocolProxy(typedConfig: { type_url?: string; value?: Uint8Array } | undefined): boolean {
  if (typedConfig?.type_url === TYPE_META_PROTOCOL_PROXY) return true;
  if (typedConfig?.type_url !== TYPE_UDPA_TYPED_STRUCT && typedConfig?.type_url !== TYPE_XDS_TYPED_STRUCT) return false;
  const ts = decodeAs<{ type_url?: string }>(typedConfig.type_url, typedConfig.value ?? new Uint8Array());
  return ts.type_url === TYPE_META_PROTOCOL_PROXY;
}

/**
 * Reads a MetaProtocolProxy filter config; undefined for one without RDS (an
 * inbound filter with its route config inline). Throws MeshError CONFIG
 * naming `where` and the field at fault.
 */
export function metaProtocolProxyConfig(typedConfig: { type_url?: string; value?: Uint8Array }, where: string): ListenerServiceConfig | undefined {
  const m = unpack(typedConfig, where);
  // RouteConfigurationName subset: only the inline route config's name is read.
  const rds = obj(m.rds);
  const outbound = str(rds?.route_config_name);
  // Aeraki's inbound filter has its route config inline, named inbound|<port>||.
  const inboundPort = /^inbound\|(\d+)\|\|$/.exec(str(obj(m.route_config)?.name) ?? '')?.[1];
  if ((outbound === undefined || outbound === '') && inboundPort === undefined) return undefined;
  const direction = outbound !== undefined && outbound !== '' ? 'outbound' : 'inbound';
  let name = direction === 'outbound' ? (outbound as string) : `*_${inboundPort}`;
  const at = `${where} (${direction === 'outbound' ? `route config ${name}` : `inbound port ${inboundPort}`})`;
  let localRateLimit: LocalRateLimit | undefined;
  let globalRateLimit: GlobalRateLimit | undefined;
  list(m.meta_protocol_filters).forEach((f, i) => {
    const filter = obj(f) ?? {};
    const fname = str(filter.name) ?? '';
    const fat = `${at} meta_protocol_filters[${i}] '${fname}'`;
    if (fname === LOCAL_RATE_LIMIT) {
      const config = unpackAny(filter.config, TYPE_LOCAL_RATE_LIMIT, fat);
      localRateLimit = localRateLimitOf(config, fat);
      const host = str(config.stat_prefix);
      if (direction === 'inbound' && host !== undefined && host !== '') name = `${host}_${inboundPort}`;
    }
    else if (fname === RATE_LIMIT) globalRateLimit = globalRateLimitOf(unpackAny(filter.config, TYPE_RATE_LIMIT, fat), fat);
  });
  const protocol = obj(m.protocol);
  const codec = str(obj(protocol?.codec)?.name) || str(obj(m.codec)?.name);
  const tracing = m.tracing === undefined ? undefined : tracingOf(obj(m.tracing) ?? {});
  const accessLogs = list(m.access_log).map((a) => str(obj(a)?.name) ?? '');
  const statPrefix = str(m.stat_prefix);
  return Object.freeze({
    routeConfigName: name,
    direction,
    ...(statPrefix === undefined ? {} : { statPrefix }),
    ...(codec === undefined || codec === '' ? {} : { codec }),
    ...(localRateLimit === undefined ? {} : { localRateLimit }),
    ...(globalRateLimit === undefined ? {} : { globalRateLimit }),
    ...(tracing === undefined ? {} : { tracing }),
    accessLogs: Object.freeze(accessLogs),
  });
}

function localRateLimitOf(m: Obj, at: string): LocalRateLimit {
  const tokenBucket = m.token_bucket === undefined ? undefined : bucketOf(obj(m.token_bucket) ?? {}, `${at} token_bucket`);
  const conditions = list(m.conditions).map((c, i) => {
    const cond = obj(c) ?? {};
    const cat = `${at} conditions[${i}]`;
    if (cond.token_bucket === undefined) throw invalid(`${cat} has no token_bucket; each condition needs one`);
    return Object.freeze({ match: matchOf(cond.match, cat), tokenBucket: bucketOf(obj(cond.token_bucket) ?? {}, `${cat} token_bucket`) });
  });
  return Object.freeze({ ...(tokenBucket === undefined ? {} : { tokenBucket }), conditions: Object.freeze(conditions) });
}

function bucketOf(b: Obj, at: string): TokenBucketPolicy {
  const maxTokens = num(b.max_tokens) ?? 0;
  if (maxTokens < 1) throw invalid(`${at} max_tokens is ${maxTokens}; Envoy requires at least 1`);
  const fillIntervalMs = durationMs(b.fill_interval, `${at} fill_interval`);
  if (fillIntervalMs === undefined || fillIntervalMs < MIN_FILL_INTERVAL_MS) {
    throw invalid(`${at} fill_interval is ${fillIntervalMs ?? 'unset'}ms; Envoy requires at least ${MIN_FILL_INTERVAL_MS}ms`);
  }
  const tokensPerFill = wrapped(b.tokens_per_fill) ?? 1;
  return Object.freeze({ maxTokens, tokensPerFill, fillIntervalMs });
}

function globalRateLimitOf(m: Obj, at: string): GlobalRateLimit {
  const domain = str(m.domain) ?? '';
  if (domain === '') throw invalid(`${at} has no domain; the rate limit service needs one`);
  const cluster = str(obj(obj(obj(m.rate_limit_service)?.grpc_service)?.envoy_grpc)?.cluster_name) ?? '';
  if (cluster === '') throw invalid(`${at} rate_limit_service names no grpc_service.envoy_grpc.cluster_name; meta-mesh calls the rate limit service at that cluster`);
  const descriptors = list(m.descriptors).map((d, i) => {
    const desc = obj(d) ?? {};
    const property = str(desc.property) ?? '';
    const descriptorKey = str(desc.descriptor_key) ?? '';
    if (property === '' || descriptorKey === '') throw invalid(`${at} descriptors[${i}] needs property and descriptor_key`);
    return Object.freeze({ property: property.toLowerCase(), descriptorKey });
  });
  if (descriptors.length === 0) throw invalid(`${at} lists no descriptor; the filter requires at least one`);
  return Object.freeze({
    match: matchOf(m.match, at),
    domain,
    requestTimeoutMs: durationMs(m.timeout, `${at} timeout`) ?? DEFAULT_RLS_TIMEOUT_MS,
    denyOnFail: m.failure_mode_deny === true,
    rateLimitService: cluster,
    descriptors: Object.freeze(descriptors),
  });
}

function tracingOf(t: Obj): TracingSampling {
  const pct = (v: unknown): number | undefined => num(obj(v)?.value);
  const out: { -readonly [K in keyof TracingSampling]: TracingSampling[K] } = {};
  const client = pct(t.client_sampling);
  const random = pct(t.random_sampling);
  const overall = pct(t.overall_sampling);
  if (client !== undefined) out.client_sampling = client;
  if (random !== undefined) out.random_sampling = random;
  if (overall !== undefined) out.overall_sampling = overall;
  return Object.freeze(out);
}

function matchOf(match: unknown, at: string) {
  const headers = list(obj(match)?.metadata) as HeaderMatcherProto[];
  return matchersFromXds(headers, `${at} match`);
}

/** The filter config as a plain object with .proto names, from the binary message or a TypedStruct's JSON. */
function unpack(typedConfig: { type_url?: string; value?: Uint8Array }, where: string): Obj {
  const bytes = typedConfig.value ?? new Uint8Array();
  if (typedConfig.type_url === TYPE_META_PROTOCOL_PROXY) return decodeAs<Obj>(TYPE_META_PROTOCOL_PROXY, bytes);
  const ts = decodeAs<{ type_url?: string; value?: Obj }>(typedConfig.type_url ?? '', bytes);
  if (ts.type_url !== TYPE_META_PROTOCOL_PROXY) throw invalid(`${where} is a TypedStruct of ${ts.type_url ?? '(none)'}, not a MetaProtocolProxy`);
  return snakeKeys(structToJson(ts.value ?? {})) as Obj;
}

/** A nested Any: binary {type_url, value} or JSON {"@type", ...fields}. */
function unpackAny(any: unknown, expected: string, at: string): Obj {
  const a = obj(any);
  if (a === undefined) throw invalid(`${at} has no config`);
  const jsonType = str(a['@type']);
  if (jsonType !== undefined) {
    if (jsonType !== expected) throw invalid(`${at} config is ${jsonType}; expected ${expected}`);
    return a;
  }
  const typeUrl = str(a.type_url) ?? '';
  if (typeUrl === TYPE_UDPA_TYPED_STRUCT || typeUrl === TYPE_XDS_TYPED_STRUCT) {
    const ts = decodeAs<{ type_url?: string; value?: Obj }>(typeUrl, (a.value as Uint8Array | undefined) ?? new Uint8Array());
    if (ts.type_url !== expected) throw invalid(`${at} config is a TypedStruct of ${ts.type_url ?? '(none)'}; expected ${expected}`);
    return snakeKeys(structToJson(ts.value ?? {})) as Obj;
  }
  if (typeUrl !== expected) throw invalid(`${at} config is ${typeUrl || '(no type)'}; expected ${expected}`);
  return decodeAs<Obj>(expected, (a.value as Uint8Array | undefined) ?? new Uint8Array());
}

/** google.protobuf.Struct as protobufjs decodes it → plain JSON. */
function structToJson(s: Obj): Obj {
  const out: Obj = {};
  for (const [k, v] of Object.entries(obj(s.fields) ?? {})) out[k] = valueToJson(obj(v) ?? {});
  return out;
}

/** protobufjs's bundled google.protobuf.Value keeps its JSON field names (stringValue, ...). */
function valueToJson(v: Obj): unknown {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.numberValue !== undefined) return v.numberValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.structValue !== undefined) return structToJson(obj(v.structValue) ?? {});
  if (v.listValue !== undefined) return list(obj(v.listValue)?.values).map((x) => valueToJson(obj(x) ?? {}));
  return null;
}

/** proto3 JSON names (camelCase) → .proto names (snake_case), keeping "@type". */
function snakeKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(snakeKeys);
  if (v === null || typeof v !== 'object') return v;
  const out: Obj = {};
  for (const [k, x] of Object.entries(v as Obj)) out[k.startsWith('@') ? k : k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)] = snakeKeys(x);
  return out;
}

/** A Duration: {seconds, nanos} from the binary message, or "1.5s" from JSON. */
function durationMs(d: unknown, at: string): number | undefined {
  if (d === undefined || d === null) return undefined;
  if (typeof d === 'string') {
    const m = /^(-?\d+(?:\.\d+)?)s$/.exec(d);
    if (m === null) throw invalid(`${at} is '${d}'; a proto3 JSON duration looks like "60s" or "0.5s"`);
    return Number(m[1]) * 1000;
  }
  const o = obj(d) ?? {};
  return Number(o.seconds ?? 0) * 1000 + Number(o.nanos ?? 0) / 1e6;
}

/** A UInt32Value: {value} from the binary message, a bare number from JSON. */
function wrapped(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  return num(obj(v)?.value);
}

function obj(v: unknown): Obj | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined;
}
function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}
function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}
function num(v: unknown): number | undefined {
  return typeof v === 'number' ? v : typeof v === 'string' && v !== '' && !Number.isNaN(Number(v)) ? Number(v) : undefined;
}

function invalid(message: string): MeshError {
  return new MeshError(MeshErrorCode.CONFIG, message);
}
