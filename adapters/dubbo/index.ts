// meta-mesh/dubbo: the Dubbo adapter. meshDubbo puts an apache-dubbo-js client
// on the mesh (with meshRegistry as its registry), createDubboServer is a
// Node Dubbo provider behind the mesh's inbound chain, and the dubbo2 codec.
// `apache-dubbo-js` and `hessian.js` are optional peer dependencies: the
// application installs them. On Node 23+ call shimNodeUtilForDubbo() once
// before `new Dubbo()` (importing this module changes nothing in node:util).
import { requirePeers } from '../../lib/optional-peer';
requirePeers('meta-mesh/dubbo', ['apache-dubbo-js', 'hessian.js']);

export { meshDubbo } from './mesh-dubbo';
export { meshRegistry } from './mesh-registry';
export { shimNodeUtilForDubbo } from './node-util-shim';
export type { MeshDubboOptions } from './dubbo-mesh-transport';
export { createDubboServer, DubboServer, getCallMetadata } from './dubbo-server';
export type { DubboServerOptions, DubboServiceHandlers } from './dubbo-server';
export * from './codec';
