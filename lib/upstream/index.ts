export { UpstreamConnection } from './upstream-connection';
export type { UpstreamConnectionOptions } from './upstream-connection';
export { UpstreamHost } from './upstream-host';
export type { UpstreamHostOptions } from './upstream-host';
export { UpstreamPool } from './upstream-pool';
export { openUpstreamSocket } from './open-upstream-socket';
export type { UpstreamEndpoint } from './open-upstream-socket';
export { clusterTransport } from './upstream-transport';
export type { UpstreamTransport } from './upstream-transport';
