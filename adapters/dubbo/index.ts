// meta-mesh/dubbo: the Dubbo adapter. meshDubbo puts an apache-dubbo-js client
// on the mesh (with meshRegistry as its registry), createDubboServer is a
// Node Dubbo provider behind the mesh's inbound chain, and the dubbo2 codec.
import './node-util-shim';
export { meshDubbo } from './mesh-dubbo';
export { meshRegistry } from './mesh-registry';
export type { MeshDubboOptions } from './dubbo-mesh-transport';
export { createDubboServer, DubboServer, getCallMetadata } from './dubbo-server';
export type { DubboServerOptions, DubboServiceHandlers } from './dubbo-server';
export * from './codec';
