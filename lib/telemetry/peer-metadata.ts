// Istio's peer metadata exchange, as its metadata_exchange filter and
// MetaProtocol Proxy's do it: a workload's node metadata (NAME, NAMESPACE,
// LABELS, WORKLOAD_NAME, ...) travels as `x-envoy-peer-metadata`, the base64
// of a deterministically serialized google.protobuf.Struct, beside its node
// id in `x-envoy-peer-metadata-id`. Callers send theirs with each request,
// servers answer with theirs on each reply. What a peer sends is telemetry,
// never identity: nothing here is used to authorize anything.
import type * as protobuf from 'protobufjs';

export const PEER_METADATA_KEY = 'x-envoy-peer-metadata';
export const PEER_METADATA_ID_KEY = 'x-envoy-peer-metadata-id';

/** A peer's header value longer than this is not decoded (bounds the work a peer can ask for). */
const MAX_ENCODED_LENGTH = 8192;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Decoded peers kept by header value; a workload sends the same bytes on every call. */
const MAX_CACHED_PEERS = 512;

/** The node metadata keys Istio's FlatNode carries (the ones its stats read). */
export interface WorkloadMetadata {
  NAME?: string;
  NAMESPACE?: string;
  WORKLOAD_NAME?: string;
  OWNER?: string;
  CLUSTER_ID?: string;
  MESH_ID?: string;
  ISTIO_VERSION?: string;
  APP_CONTAINERS?: string;
  INSTANCE_IPS?: string;
  LABELS?: Readonly<Record<string, string>>;
  PLATFORM_METADATA?: Readonly<Record<string, string>>;
}

const STRING_KEYS = ['NAME', 'NAMESPACE', 'WORKLOAD_NAME', 'OWNER', 'CLUSTER_ID', 'MESH_ID', 'ISTIO_VERSION', 'APP_CONTAINERS', 'INSTANCE_IPS'] as const;
const MAP_KEYS = ['LABELS', 'PLATFORM_METADATA'] as const;

/** A peer as the labels need it; one object per distinct header value, so it can key caches. */
export interface PeerWorkload {
  readonly id: number;
  readonly metadata: Readonly<WorkloadMetadata>;
  readonly nodeId: string | undefined;
}

let structType: protobuf.Type | undefined;

function struct(): protobuf.Type {
  if (structType === undefined) {
    // protobufjs loads on the first exchange, not with meta-mesh.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use (import cost)
    const protobuf = require('protobufjs') as typeof import('protobufjs');
    const root = protobuf.Root.fromJSON(protobuf.common.get('google/protobuf/struct.proto') as protobuf.INamespace);
    structType = root.lookupType('google.protobuf.Struct');
  }
  return structType;
}

type ValueJson = { stringValue?: string; structValue?: { fields?: Record<string, ValueJson> } };

/** The x-envoy-peer-metadata value of `metadata`: fields in key order, as protobuf's deterministic serialization writes a map. */
export function encodePeerMetadata(metadata: WorkloadMetadata): string {
  const fields: Record<string, ValueJson> = {};
  for (const key of [...STRING_KEYS, ...MAP_KEYS].sort()) {
    const value = metadata[key];
    if (value === undefined) continue;
    if (typeof value === 'string') {
      fields[key] = { stringValue: value };
    } else {
      const inner: Record<string, ValueJson> = {};
      for (const k of Object.keys(value).sort()) inner[k] = { stringValue: value[k]! };
      fields[key] = { structValue: { fields: inner } };
    }
  }
  const type = struct();
  return Buffer.from(type.encode(type.fromObject({ fields })).finish()).toString('base64');
}

/** Reads an x-envoy-peer-metadata value; undefined when it is not one (a peer's bad bytes lose nothing else). */
export function decodePeerMetadata(encoded: string): WorkloadMetadata | undefined {
  if (encoded.length === 0 || encoded.length > MAX_ENCODED_LENGTH || !BASE64.test(encoded)) return undefined;
  let decoded: { fields?: Record<string, ValueJson> };
  try {
    const type = struct();
    decoded = type.toObject(type.decode(Buffer.from(encoded, 'base64')), { defaults: false }) as typeof decoded;
  } catch {
    return undefined;
  }
  const fields = decoded.fields ?? {};
  const out: { -readonly [K in keyof WorkloadMetadata]: WorkloadMetadata[K] } = {};
  for (const key of STRING_KEYS) {
    const v = fields[key]?.stringValue;
    if (typeof v === 'string') out[key] = v;
  }
  for (const key of MAP_KEYS) {
    const inner = fields[key]?.structValue?.fields;
    if (inner === undefined) continue;
    const map: Record<string, string> = {};
    for (const [k, v] of Object.entries(inner)) if (typeof v.stringValue === 'string') map[k] = v.stringValue;
    out[key] = map;
  }
  // A Struct with none of Istio's keys says nothing about a workload.
  return Object.keys(out).length === 0 ? undefined : out;
}

/** Decodes peers once per distinct header value, within a bound. */
export class PeerCache {
  // Keyed by value, then node id: no string is built per call.
  private readonly byValue = new Map<string, Map<string, PeerWorkload | null>>();
  private size = 0;
  private nextId = 1;

  peer(encoded: string | undefined, nodeId: string | undefined): PeerWorkload | undefined {
    if (encoded === undefined) return undefined;
    let byId = this.byValue.get(encoded);
    const hit = byId?.get(nodeId ?? '');
    if (hit !== undefined) return hit ?? undefined;
    const metadata = decodePeerMetadata(encoded);
    // A peer sending a new value per call would grow the cache: start over past the bound.
    if (this.size >= MAX_CACHED_PEERS) {
      this.byValue.clear();
      this.size = 0;
      byId = undefined;
    }
    const peer = metadata === undefined ? null : { id: this.nextId++, metadata: Object.freeze(metadata), nodeId };
    if (byId === undefined) {
      byId = new Map();
      this.byValue.set(encoded, byId);
    }
    byId.set(nodeId ?? '', peer);
    this.size++;
    return peer ?? undefined;
  }
}
