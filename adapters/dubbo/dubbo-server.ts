// DubboServer: a Dubbo provider for Node (dubbo2 over TCP, hessian2). Each
// call passes the mesh's inbound chain before the application's handler;
// heartbeats are answered on the spot. Handlers are plain functions keyed by
// interface and method name, and read the call's attachments with
// getCallMetadata().
import { AsyncLocalStorage } from 'node:async_hooks';
import * as net from 'node:net';
import { FrameReader, MeshError, MeshErrorCode, type Call, type Handler, type Mesh, type Message, type Metadata, type Reply, type Service } from 'meta-mesh';
import { createDubboCodec, dubboCodecFactory, type DubboCodec } from './codec/dubbo-codec';
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
  maxBodySize?: number;
  /** Names the service in inbound metadata and errors (default `inbound|<port>||`). */
  serviceName?: string;
}

const inboundCall = new AsyncLocalStorage<Call>();

/** The metadata of the inbound Dubbo call being handled (interface, method, attachments); undefined outside a handler. */
export function getCallMetadata(): Metadata | undefined {
  return inboundCall.getStore()?.metadata;
}

export class DubboServer {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private readonly chain: Handler;
  private readonly services: ReadonlyMap<string, DubboServiceHandlers>;
  private service: Service;
  private closed = false;

  constructor(
    private readonly mesh: Mesh,
    private readonly options: DubboServerOptions,
  ) {
    if (options === null || typeof options !== 'object' || options.services === null || typeof options.services !== 'object') {
      throw new MeshError(MeshErrorCode.CONFIG, "createDubboServer needs { services: { 'org.example.DemoService': { method(...args) { ... } } } }");
    }
    this.services = new Map(Object.entries(options.services));
    // Fail on a bad option now, not on the first connection.
    createDubboCodec({ maxBodySize: options.maxBodySize });
    const name = options.serviceName ?? 'inbound||';
    this.service = { host: name, port: 0, portName: '', protocol: 'dubbo', routeConfigName: name };
    this.chain = mesh.inbound((call) => this.invoke(call));
    this.server = net.createServer((socket) => this.accept(socket));
    mesh.onClose(() => this.close());
  }

  /** Starts listening; resolves with the bound port (pass 0 for any free port). */
  listen(port = 0, host = '127.0.0.1'): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        const bound = (this.server.address() as net.AddressInfo).port;
        const name = this.options.serviceName ?? `inbound|${bound}||`;
        this.service = { host: name, port: bound, portName: '', protocol: 'dubbo', routeConfigName: name };
        resolve(bound);
      });
    });
  }

  get port(): number {
    const address = this.server.address();
    return address !== null && typeof address === 'object' ? address.port : 0;
  }

  /** Stops accepting and closes every connection. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    for (const socket of this.sockets) socket.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    const codec = createDubboCodec({ maxBodySize: this.options.maxBodySize });
    const reader = new FrameReader(codec, 'request');
    socket.on('data', (chunk: Buffer) => {
      try {
        reader.push(chunk, (message) => this.serve(socket, codec, message));
      } catch (err) {
        // The stream lost its framing: say why as a Dubbo BAD_REQUEST, then hang up.
        socket.end(codec.encodeError(undefined, MeshError.from(err, MeshErrorCode.CODEC)));
      }
    });
  }

  private serve(socket: net.Socket, codec: DubboCodec, request: Message): void {
    if (request.type === 'heartbeat') {
      if (!socket.destroyed) socket.write(codec.encodeHeartbeatReply(request));
      return;
    }
    if (request.type !== 'request' && request.type !== 'oneway') return; // stray replies from a confused peer
    const call: Call = {
      direction: 'inbound',
      service: this.service,
      request,
      metadata: request.metadata,
      mutation: new Map(),
      codec,
      codecFactory: dubboCodecFactory,
      encodeOptions: undefined,
      expectReply: request.type !== 'oneway',
      startTime: performance.now(),
      timeoutMs: this.mesh.defaultTimeoutMs,
    };
    this.chain(call).then(
      (reply) => {
        if (reply === undefined || !call.expectReply || socket.destroyed) return;
        const mutation = reply.mutation === undefined || reply.mutation.size === 0 ? undefined : new Map(reply.mutation);
        socket.write(codec.encode(reply.message, { requestId: request.requestId, mutation }));
      },
      (err: unknown) => {
        if (!call.expectReply || socket.destroyed) return;
        socket.write(codec.encodeError(request, MeshError.from(err)));
      },
    );
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
