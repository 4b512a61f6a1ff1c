// meta-mesh/control-plane: the local control plane (MetaRDS + ADS served from
// YAML, as Aeraki and istiod would serve it) and the xDS client parts it
// shares. Importing this loads @grpc/grpc-js and protobufjs; the root entry
// loads them only when Mesh.start is given `xds`.
export { ControlPlaneServer } from './xds/control-plane-server';
export type { ControlPlaneEvents, ControlPlaneOptions } from './xds/control-plane-server';
export { XdsConfigSource } from './xds/xds-config-source';
export type { XdsConfigSourceOptions, XdsDump } from './xds/xds-config-source';
export type { XdsOptions, XdsTlsOptions } from './xds/xds-options';
export { readBootstrap, parseBootstrap } from './xds/bootstrap';
export type { Bootstrap, BootstrapServer } from './xds/bootstrap';
export { istioNodeId, uniqueNodeId } from './xds/node-identity';
export { resourcesFromSnapshot } from './xds/resources-from-snapshot';
export type { XdsResources } from './xds/resources-from-snapshot';
export { TYPE_RDS, TYPE_CDS, TYPE_EDS, TYPE_LDS } from './xds/type-urls';
export type { XdsTypeUrl } from './xds/type-urls';
export type { ClientStatus, ResourceDump } from './xds/resource-store';
export { readClientStatus } from './xds/csds-client';
export type { ReadClientStatusOptions } from './xds/csds-client';
