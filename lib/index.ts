// meta-mesh: the public API of the engine. Protocol adapters live in
// meta-mesh/thrift (and later meta-mesh/dubbo, meta-mesh/redis).
export * from './protocol';
export * from './config';
export * from './filters';
export { Mesh, OutboundService } from './mesh';
export type { MeshOptions, MeshEvents } from './mesh';
export { RouteTable, CompiledRoute, Mirror } from './route';
export { Cluster } from './cluster/cluster';
export { registerLoadBalancer, registeredLoadBalancers } from './cluster/lb';
export type { LoadBalancer, LoadBalancerFactory, PickContext } from './cluster/lb';
export { UpstreamConnection, UpstreamHost, UpstreamPool } from './upstream';
export * from './ratelimit';
