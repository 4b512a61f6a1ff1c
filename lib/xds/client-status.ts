// The Client Status Discovery Service's answer for this process: every xDS
// resource it holds, with version, ACK/NACK state, last update and, unless
// asked to leave them out, the resource itself. A mesh started from YAML
// reports the resources its config translates to, marked static.
import type { Snapshot } from '../config/model';
import type { AnyResource } from './envoy-types';
import { resourcesFromSnapshot } from './resources-from-snapshot';
import { TYPE_CDS, TYPE_EDS, TYPE_RDS } from './type-urls';

/** The types whose resources CSDS can send back encoded (LDS entries carry version and state only). */
type PackableType = typeof TYPE_RDS | typeof TYPE_CDS | typeof TYPE_EDS;
import type { XdsDump } from './xds-config-source';
import { packResource } from './xds-protos';

interface TimestampProto {
  seconds: string;
  nanos: number;
}

export interface GenericXdsConfigProto {
  type_url: string;
  name: string;
  version_info?: string;
  xds_config?: AnyResource;
  last_updated?: TimestampProto;
  config_status?: 'UNKNOWN' | 'SYNCED' | 'NOT_SENT' | 'STALE' | 'ERROR';
  client_status?: 'UNKNOWN' | 'REQUESTED' | 'DOES_NOT_EXIST' | 'ACKED' | 'NACKED';
  error_state?: { details?: string; version_info?: string; last_update_attempt?: TimestampProto };
  is_static_resource?: boolean;
}

export interface ClientStatusResponseProto {
  config: { node?: { id?: string; cluster?: string }; generic_xds_configs: GenericXdsConfigProto[]; client_scope?: string }[];
}

export interface ClientStatusInput {
  /** The xDS client's dump, when the mesh takes config from a control plane. */
  readonly xds?: XdsDump | undefined;
  /** The config in force (reported as static resources when there is no xDS client). */
  readonly snapshot: Snapshot;
  /** Node identity to report for a mesh without an xDS client. */
  readonly node: { readonly id: string; readonly cluster?: string };
  readonly excludeResourceContents: boolean;
}

export function clientStatus(input: ClientStatusInput): ClientStatusResponseProto {
  const configs = input.xds === undefined ? staticConfigs(input) : dynamicConfigs(input.xds, input.excludeResourceContents);
  const node = input.xds?.node ?? input.node;
  return { config: [{ node: { id: node.id, ...(node.cluster === undefined ? {} : { cluster: node.cluster }) }, generic_xds_configs: configs }] };
}

function dynamicConfigs(dump: XdsDump, exclude: boolean): GenericXdsConfigProto[] {
  return dump.resources.map((r) => {
    const out: GenericXdsConfigProto = { type_url: r.typeUrl, name: r.name, client_status: r.clientStatus };
    if (r.versionInfo !== undefined) out.version_info = r.versionInfo;
    if (r.lastUpdated !== undefined) out.last_updated = timestamp(r.lastUpdated);
    if (!exclude && r.resource !== undefined && isPackable(r.typeUrl)) out.xds_config = packResource(r.typeUrl, r.resource as object);
    if (r.errorState !== undefined) {
      out.error_state = { details: r.errorState.details, version_info: r.errorState.versionInfo, last_update_attempt: timestamp(r.errorState.lastUpdateAttempt) };
    }
    return out;
  });
}

function staticConfigs(input: ClientStatusInput): GenericXdsConfigProto[] {
  const resources = resourcesFromSnapshot(input.snapshot);
  const version = input.snapshot.version;
  const entry = (typeUrl: PackableType, name: string, resource: object): GenericXdsConfigProto => ({
    type_url: typeUrl,
    name,
    version_info: version,
    client_status: 'ACKED',
    is_static_resource: true,
    ...(input.excludeResourceContents ? {} : { xds_config: packResource(typeUrl, resource) }),
  });
  return [
    ...resources.routeConfigurations.map((r) => entry(TYPE_RDS, r.name ?? '', r)),
    ...resources.clusters.map((c) => entry(TYPE_CDS, c.name ?? '', c)),
    ...resources.assignments.map((a) => entry(TYPE_EDS, a.cluster_name ?? '', a)),
  ];
}

function isPackable(typeUrl: string): typeUrl is PackableType {
  return typeUrl === TYPE_RDS || typeUrl === TYPE_CDS || typeUrl === TYPE_EDS;
}

function timestamp(iso: string): TimestampProto {
  const ms = Date.parse(iso);
  return { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 };
}
