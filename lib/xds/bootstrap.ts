// Reads a gRPC xDS bootstrap file (GRPC_XDS_BOOTSTRAP, or inline JSON in
// GRPC_XDS_BOOTSTRAP_CONFIG), the file Istio's agent writes for proxyless
// clients: the ADS server to use, its channel credentials and the node identity.
import * as fs from 'node:fs';
import { MeshError, MeshErrorCode } from '../protocol';
import type { NodeProto, StructProto, ValueProto } from './envoy-types';

export interface BootstrapServer {
  readonly serverUri: string;
  /** The first channel_creds type meta-mesh understands: insecure, tls (with its files) or google_default. */
  readonly channelCreds: { readonly type: string; readonly config?: Readonly<Record<string, unknown>> };
  readonly serverFeatures: readonly string[];
}

export interface Bootstrap {
  readonly xdsServers: readonly BootstrapServer[];
  readonly node?: NodeProto;
  /** `certificate_providers`: instance name → plugin and its config (the workload identity's files). */
  readonly certificateProviders?: Readonly<Record<string, { readonly pluginName: string; readonly config: Readonly<Record<string, unknown>> }>>;
  /** gRPC A36: the inbound listener name of an xDS-enabled server, `%s` = its `ip:port`. */
  readonly serverListenerResourceNameTemplate?: string;
}

const KNOWN_CREDS = ['insecure', 'tls', 'google_default'];

/** The bootstrap from `file`, else from the environment, else undefined. */
export function readBootstrap(file?: string, env: NodeJS.ProcessEnv = process.env): Bootstrap | undefined {
  let text: string;
  let where: string;
  const path = file ?? env.GRPC_XDS_BOOTSTRAP;
  if (path !== undefined && path !== '') {
    where = file === undefined ? `${path} (named by GRPC_XDS_BOOTSTRAP)` : path;
    try {
      text = fs.readFileSync(path, 'utf8');
    } catch (err) {
      throw bad(where, `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); check the path`);
    }
  } else if (env.GRPC_XDS_BOOTSTRAP_CONFIG !== undefined && env.GRPC_XDS_BOOTSTRAP_CONFIG !== '') {
    where = 'GRPC_XDS_BOOTSTRAP_CONFIG';
    text = env.GRPC_XDS_BOOTSTRAP_CONFIG;
  } else {
    return undefined;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw bad(where, `is not JSON (${(err as Error).message})`);
  }
  return parseBootstrap(json, where);
}

/** Checks and reads a parsed bootstrap; `where` names its source in errors. */
export function parseBootstrap(json: unknown, where = ''): Bootstrap {
  if (!isObject(json)) throw bad(where, 'must be a JSON object with xds_servers and node');
  const servers = json.xds_servers;
  if (!Array.isArray(servers) || servers.length === 0) throw bad(where, 'has no xds_servers; list at least one {"server_uri": "host:port"}');
  const xdsServers = servers.map((s, i): BootstrapServer => {
    if (!isObject(s) || typeof s.server_uri !== 'string' || s.server_uri === '') throw bad(where, `xds_servers[${i}] has no server_uri`);
    const creds = Array.isArray(s.channel_creds) ? s.channel_creds.filter(isObject) : [];
    const chosen = creds.find((c) => typeof c.type === 'string' && KNOWN_CREDS.includes(c.type));
    if (creds.length > 0 && chosen === undefined) {
      throw bad(where, `xds_servers[${i}].channel_creds has no type meta-mesh supports; use one of ${KNOWN_CREDS.join(', ')}`);
    }
    return {
      serverUri: s.server_uri,
      channelCreds: chosen === undefined ? { type: 'insecure' } : { type: chosen.type as string, ...(isObject(chosen.config) ? { config: chosen.config } : {}) },
      serverFeatures: Array.isArray(s.server_features) ? s.server_features.filter((f): f is string => typeof f === 'string') : [],
    };
  });
  const certificateProviders = {
    ...certificateProvidersOf(json.certificate_providers),
    ...(typeof json.server_listener_resource_name_template === 'string' && json.server_listener_resource_name_template !== ''
      ? { serverListenerResourceNameTemplate: json.server_listener_resource_name_template }
      : {}),
  };
  const node = json.node;
  if (node === undefined) return { xdsServers, ...certificateProviders };
  if (!isObject(node) || typeof node.id !== 'string' || node.id === '') throw bad(where, 'node has no id; give node.id (Istio writes sidecar~<ip>~<pod>.<ns>~<ns>.svc.cluster.local) or leave node out');
  const out: NodeProto = { id: node.id };
  if (typeof node.cluster === 'string') out.cluster = node.cluster;
  if (isObject(node.locality)) {
    const l = node.locality;
    out.locality = { region: str(l.region), zone: str(l.zone), sub_zone: str(l.sub_zone) };
  }
  if (isObject(node.metadata)) out.metadata = toStruct(node.metadata);
  return { xdsServers, node: out, ...certificateProviders };
}

function certificateProvidersOf(raw: unknown): Pick<Bootstrap, 'certificateProviders'> {
  if (!isObject(raw)) return {};
  const out: Record<string, { pluginName: string; config: Record<string, unknown> }> = {};
  for (const [name, p] of Object.entries(raw)) {
    if (isObject(p) && typeof p.plugin_name === 'string') out[name] = { pluginName: p.plugin_name, config: isObject(p.config) ? p.config : {} };
  }
  return Object.keys(out).length === 0 ? {} : { certificateProviders: out };
}

/** JSON → google.protobuf.Struct in its decoded (field-by-field) shape. */
export function toStruct(obj: Record<string, unknown>): StructProto {
  const fields: Record<string, ValueProto> = {};
  for (const [k, v] of Object.entries(obj)) fields[k] = toValue(v);
  return { fields };
}

function toValue(v: unknown): ValueProto {
  if (v === null || v === undefined) return { nullValue: 'NULL_VALUE' };
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'number') return { numberValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map(toValue) } };
  return { structValue: toStruct(v as Record<string, unknown>) };
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function bad(where: string, message: string): MeshError {
  return new MeshError(MeshErrorCode.CONFIG, `xDS bootstrap${where === '' ? '' : ` ${where}`} ${message}`);
}
