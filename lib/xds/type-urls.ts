// The xDS resource type URLs meta-mesh speaks, and the per-type rules of the
// state-of-the-world protocol that depend on them.

export const TYPE_RDS = 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration';
export const TYPE_CDS = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';
export const TYPE_EDS = 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment';
/** Listeners: asked for only as a sidecar (nodeId 'istio'), for Aeraki's MetaProtocolProxy filter config. */
export const TYPE_LDS = 'type.googleapis.com/envoy.config.listener.v3.Listener';

export type XdsTypeUrl = typeof TYPE_RDS | typeof TYPE_CDS | typeof TYPE_EDS | typeof TYPE_LDS;

export const XDS_TYPE_URLS: readonly XdsTypeUrl[] = [TYPE_RDS, TYPE_CDS, TYPE_EDS, TYPE_LDS];

/** Short names for logs and dumps. */
export const TYPE_SHORT: Readonly<Record<XdsTypeUrl, string>> = { [TYPE_RDS]: 'RDS', [TYPE_CDS]: 'CDS', [TYPE_EDS]: 'EDS', [TYPE_LDS]: 'LDS' };

export function isXdsTypeUrl(typeUrl: string): typeUrl is XdsTypeUrl {
  return typeUrl === TYPE_RDS || typeUrl === TYPE_CDS || typeUrl === TYPE_EDS || typeUrl === TYPE_LDS;
}
