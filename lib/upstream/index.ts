export { UpstreamConnection } from './upstream-connection';
export type { UpstreamConnectionOptions } from './upstream-connection';
export { UpstreamHost } from './upstream-host';
export type { UpstreamHostOptions } from './upstream-host';
export { UpstreamPool } from './upstream-pool';
