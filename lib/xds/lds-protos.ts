// Loads meta-mesh's .proto subset for LDS (envoy-listener.proto) and the
// MetaProtocolProxy filter config (meta-protocol-proxy.proto) once, and
// decodes them to plain objects with the .proto field names.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as protobuf from 'protobufjs';
import { protoDir } from './xds-protos';

const FILES = ['envoy-listener.proto', 'meta-protocol-proxy.proto', 'envoy-tls.proto', 'envoy-rbac-filters.proto'];
const TO_OBJECT: protobuf.IConversionOptions = { longs: String, enums: String, defaults: false, oneofs: false };

export const TYPE_META_PROTOCOL_PROXY = 'type.googleapis.com/aeraki.meta_protocol_proxy.v1alpha.MetaProtocolProxy';
export const TYPE_LOCAL_RATE_LIMIT = 'type.googleapis.com/aeraki.meta_protocol_proxy.filters.local_ratelimit.v1alpha.LocalRateLimit';
export const TYPE_RATE_LIMIT = 'type.googleapis.com/aeraki.meta_protocol_proxy.filters.ratelimit.v1alpha.RateLimit';
export const TYPE_UDPA_TYPED_STRUCT = 'type.googleapis.com/udpa.type.v1.TypedStruct';
export const TYPE_XDS_TYPED_STRUCT = 'type.googleapis.com/xds.type.v3.TypedStruct';
/** What a proxyless server's inbound listener carries (gRPC A36, as istiod builds it). */
export const TYPE_DOWNSTREAM_TLS_CONTEXT = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext';
export const TYPE_HTTP_CONNECTION_MANAGER = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
export const TYPE_HTTP_RBAC = 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC';
export const TYPE_NETWORK_RBAC = 'type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC';
export const TYPE_HTTP_ROUTER = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';

/** Our message for each upstream type URL we read (the upstream names, packed into our own files). */
const MESSAGES: Readonly<Record<string, string>> = {
  [TYPE_META_PROTOCOL_PROXY]: 'aeraki.meta_protocol_proxy.v1alpha.MetaProtocolProxy',
  [TYPE_LOCAL_RATE_LIMIT]: 'aeraki.meta_protocol_proxy.v1alpha.LocalRateLimit',
  [TYPE_RATE_LIMIT]: 'aeraki.meta_protocol_proxy.v1alpha.RateLimit',
  [TYPE_UDPA_TYPED_STRUCT]: 'envoy.config.listener.v3.TypedStruct',
  [TYPE_XDS_TYPED_STRUCT]: 'envoy.config.listener.v3.TypedStruct',
  'type.googleapis.com/envoy.config.listener.v3.Listener': 'envoy.config.listener.v3.Listener',
  [TYPE_DOWNSTREAM_TLS_CONTEXT]: 'envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
  [TYPE_HTTP_CONNECTION_MANAGER]: 'meta_mesh.xds.filters.HttpConnectionManager',
  [TYPE_HTTP_RBAC]: 'meta_mesh.xds.filters.HttpRbac',
  [TYPE_NETWORK_RBAC]: 'meta_mesh.xds.filters.NetworkRbac',
};

let root: protobuf.Root | undefined;

function loaded(): protobuf.Root {
  if (root !== undefined) return root;
  const dir = protoDir();
  const r = new protobuf.Root();
  const bundled = r.resolvePath;
  r.resolvePath = (origin, target) => {
    if (path.isAbsolute(target)) return target;
    const inDir = path.join(dir, target);
    return fs.existsSync(inDir) ? inDir : bundled(origin, target);
  };
  r.loadSync(FILES, { keepCase: true });
  r.resolveAll();
  root = r;
  return r;
}

/** Whether we have a message for this type URL. */
export function knowsType(typeUrl: string): boolean {
  return Object.hasOwn(MESSAGES, typeUrl);
}

/** Decodes bytes of a known type URL to a plain object with .proto field names. */
export function decodeAs<T>(typeUrl: string, bytes: Uint8Array): T {
  const name = MESSAGES[typeUrl];
  if (name === undefined) throw new Error(`no decoder for ${typeUrl}`);
  const type = loaded().lookupType(name);
  return type.toObject(type.decode(bytes), TO_OBJECT) as T;
}

/** Encodes a plain object (.proto field names) as a known type URL; for tests and the local control plane. */
export function encodeAs(typeUrl: string, value: object): Buffer {
  const name = MESSAGES[typeUrl];
  if (name === undefined) throw new Error(`no encoder for ${typeUrl}`);
  const type = loaded().lookupType(name);
  return Buffer.from(type.encode(type.fromObject(value)).finish());
}
