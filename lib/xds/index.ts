// xDS: the MetaRDS + ADS client that turns a live control plane into mesh
// snapshots, and a local control plane serving the same from YAML.
export { XdsConfigSource } from './xds-config-source';
export type { XdsConfigSourceOptions, XdsDump } from './xds-config-source';
export type { XdsOptions, XdsTlsOptions } from './xds-options';
export { ControlPlaneServer } from './control-plane-server';
export type { ControlPlaneOptions, ControlPlaneEvents } from './control-plane-server';
export { readBootstrap, parseBootstrap } from './bootstrap';
export type { Bootstrap, BootstrapServer } from './bootstrap';
export { istioNodeId, uniqueNodeId } from './node-identity';
export { routeConfigFromXds } from './route-config-from-xds';
export { clusterFromXds, parseClusterName } from './cluster-from-xds';
export { resourcesFromSnapshot } from './resources-from-snapshot';
export type { XdsResources } from './resources-from-snapshot';
export type { ClientStatus, ResourceDump } from './resource-store';
export { TYPE_RDS, TYPE_CDS, TYPE_EDS, TYPE_LDS } from './type-urls';
export type { XdsTypeUrl } from './type-urls';
export { clientStatus } from './client-status';
export type { ClientStatusInput, ClientStatusResponseProto, GenericXdsConfigProto } from './client-status';
export { csdsProtos, CSDS_SERVICE } from './csds-protos';
export { readClientStatus } from './csds-client';
export type { ReadClientStatusOptions } from './csds-client';
