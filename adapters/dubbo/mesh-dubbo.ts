// meshDubbo: puts an apache-dubbo-js client on meta-mesh. Every call then goes
// through the mesh's outbound chain (MetaRouter on interface, method and
// attachments; load balancing; the router's policies) and still resolves to
// `{err, res}` as before:
//
//     const dubbo = new Dubbo({ application, register: meshRegistry(), dubboSetting, service });
//     meshDubbo(dubbo, mesh);
import type { Dubbo } from 'apache-dubbo-js';
import { MeshError, MeshErrorCode } from '../../lib/protocol';
import type { Mesh } from '../../lib/mesh';
import { DubboMeshTransport, type MeshDubboOptions } from './dubbo-mesh-transport';
import type { DubboJsMiddleware } from './dubbo-js';

/** What meshDubbo reaches inside a Dubbo instance (dubbo-js has no public hook for the transport). */
interface DubboInternals {
  _middleware: DubboJsMiddleware[];
  _readyResolve?: () => void;
  use(fn: unknown): unknown;
}

const attached = Symbol.for('meta-mesh.dubbo.transport');

/**
 * Sends every call of `dubbo` through `mesh`. Middleware added with `use()`
 * before or after still runs, in order, before the mesh. Build the client
 * with `register: meshRegistry()` so it opens no ZooKeeper session or sockets
 * of its own. Returns `dubbo`.
 */
export function meshDubbo<T extends Dubbo>(dubbo: T, mesh: Mesh, options?: MeshDubboOptions): T {
  const inner = dubbo as unknown as DubboInternals & { [attached]?: DubboMeshTransport };
  if (!Array.isArray(inner._middleware) || typeof inner.use !== 'function') {
    throw new MeshError(MeshErrorCode.CONFIG, 'meshDubbo needs an apache-dubbo-js 3.0 Dubbo instance (new Dubbo({...})); DirectlyDubbo has no middleware chain to join');
  }
  if (inner[attached] !== undefined) throw new MeshError(MeshErrorCode.CONFIG, 'meshDubbo was already applied to this Dubbo client');
  const transport = new DubboMeshTransport(mesh, options);
  inner[attached] = transport;
  const middleware = transport.middleware as DubboJsMiddleware;
  inner._middleware.push(middleware);
  // Middleware added later must still run before the mesh, which ends the chain.
  inner.use = function use(fn: unknown) {
    if (typeof fn !== 'function') throw new TypeError('middleware must be a function');
    inner._middleware.splice(inner._middleware.indexOf(middleware), 0, fn as DubboJsMiddleware);
    return dubbo;
  };
  // ready() waits for a ZooKeeper event that never comes without ZooKeeper; the mesh is ready now.
  inner._readyResolve?.();
  return dubbo;
}
