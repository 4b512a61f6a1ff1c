// The admin port: Envoy-style /config_dump, /clusters, /ready, /stats and CSDS.
export { AdminServer, isLoopback } from './admin-server';
export type { AdminOptions, AdminSource } from './admin-server';
export type { ClusterStatus, HostStatus } from './cluster-status';
