// DubboServer: a Dubbo provider for Node (dubbo2 over TCP, hessian2). Each
// call passes the mesh's inbound chain before the application's handler;
// heartbeats are answered on the spot. Handlers are plain functions keyed by
// interface and method name, and read the call's attachments with
// getCallMetadata().
import { AsyncLocalStorage } from 'node:async_hooks';
import { MeshError, MeshErrorCode, type Metadata } from '../../lib/protocol';
import type { Call, Reply } from '../../lib/filters/call';
import type { Mesh } from '../../lib/mesh';
import { InboundServer, type InboundServerStats } from '../../lib/downstream/inbound-server';
import type { ServerLimits } from '../../lib/downstream/server-limits';
import { createDubboCodec, type DubboCodec } from './codec/dubbo-codec';
import { dubboStatusReply } from './codec/dubbo-error-reply';
import { DubboStatus } from './codec/dubbo-frame';
import { exceptionResponse, readInvocation, resultResponse } from './dubbo-invocation';

/** One Dubbo interface's methods: each takes the call's arguments and returns (or resolves to) the result. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type DubboServiceHandlers = Record<string, (...args: any[]) => unknown>;

export interface DubboServerOptions {
  /** Handlers per Dubbo interface name, e.g. `{ 'org.example.DemoService': { sayHello(name) { ... } } }`. */
  services: Record<string, DubboServiceHandlers>;
  /** Largest request body accepted (default 8 MiB). */
  maxBodySize?: number | undefined;
  /** Names the service in inbound metadata and errors (default `inbound|<port>||`). */
  serviceName?: string | undefined;
  /**
   * The mesh service this provider is a workload of (its ServiceEntry host and port): that
   * host's MetaRouter localRateLimit and globalRateLimit then apply here, as Aeraki applies them inbound.
   */
  service?: { host: string; port: number } | undefined;
  /** Idle timeout, request deadline, max connections, calls in flight per connection, reply buffer (README: server limits). */
  limits?: ServerLimits | undefined;
}

const inboundCall = new AsyncLocalStorage<Call>();

/** The metadata of the inbound Dubbo call being handled (interface, method, attachments); undefined outside a handler. */
export function getCallMetadata(): Metadata | undefined {
  return inboundCall.getStore()?.metadata;
}

export class DubboServer {
  private readonly inbound: InboundServer;
  private readonly services: ReadonlyMap<string, DubboServiceHandlers>;

  constructor(mesh: Mesh, options: DubboServerOptions) {
    if (options === null || typeof options !== 'object' || options.services === null || typeof options.services !== 'object') {
      throw new MeshError(MeshErrorCode.CONFIG, "createDubboServer needs { services: { 'org.example.DemoService': { method(...args) { ... } } } }");
    }
    this.services = new Map(Object.entries(options.services));
    const maxBodySize = options.maxBodySize;
    // Fail on a bad option now, not on the first connection.
    createDubboCodec({ maxBodySize });
    this.inbound = new InboundServer(mesh, {
      codecFactory: { protocol: 'dubbo', create: () => createDubboCodec({ maxBodySize }) },
      terminal: (call) => this.invoke(call),
      ...(options.service === undefined ? {} : { served: options.service }),
      ...(options.serviceName === undefined ? {} : { serviceName: options.serviceName }),
      ...(options.limits === undefined ? {} : { limits: options.limits }),
    });
  }

  /** Starts listening; resolves with the bound port (pass 0 for any free port). */
  listen(port = 0, host = '127.0.0.1'): Promise<number> {
    return this.inbound.listen(port, host);
  }

  get port(): number {
    return this.inbound.port;
  }

  /** What the server's limits did so far (connections, refused, idle-closed, request timeouts). */
  get stats(): InboundServerStats {
    return this.inbound.stats;
  }

  /** Stops accepting and closes every connection. */
  close(): Promise<void> {
    return this.inbound.close();
  }

  /** The terminal handler: decodes the arguments and runs the application's method. */
  private async invoke(call: Call): Promise<Reply | undefined> {
    const request = call.request;
    const id = request.requestId;
    const codec = call.codec as DubboCodec;
    let bytes: Buffer;
    try {
      const invocation = readInvocation(request.frame);
      const iface = typeof invocation.attachments.interface === 'string' ? invocation.attachments.interface : invocation.path;
      const handlers = this.services.get(iface) ?? this.services.get(invocation.path);
      const fn = handlers?.[invocation.method];
      if (handlers === undefined) {
        bytes = dubboStatusReply(id, DubboStatus.SERVICE_ERROR, `meta-mesh dubbo provider: no service ${iface} here; it serves ${[...this.services.keys()].join(', ') || 'nothing'}`);
      } else if (typeof fn !== 'function' || !Object.prototype.hasOwnProperty.call(handlers, invocation.method)) {
        bytes = dubboStatusReply(id, DubboStatus.SERVICE_ERROR, `meta-mesh dubbo provider: service ${iface} has no method ${invocation.method}; it has ${Object.keys(handlers).join(', ')}`);
      } else {
        try {
          const result = await inboundCall.run(call, () => fn.apply(handlers, invocation.args));
          bytes = resultResponse(id, result);
        } catch (err) {
          bytes = exceptionResponse(id, err instanceof Error ? err.message : String(err));
        }
      }
    } catch (err) {
      throw MeshError.from(err, MeshErrorCode.CODEC);
    }
    if (!call.expectReply) return undefined;
    const decoded = codec.decode(bytes, 'response');
    if (decoded.status !== 'done') throw new MeshError(MeshErrorCode.INTERNAL, 'the provider wrote an incomplete reply');
    return { message: decoded.message };
  }
}

/**
 * A Dubbo provider behind the mesh's inbound chain:
 *
 *     const server = createDubboServer(mesh, { services: { 'org.example.DemoService': { sayHello: (name) => `hello ${name}` } } });
 *     await server.listen(20880);
 */
export function createDubboServer(mesh: Mesh, options: DubboServerOptions): DubboServer {
  return new DubboServer(mesh, options);
}
