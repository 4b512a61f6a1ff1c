// ThriftServer: a Thrift server whose every call passes the mesh's inbound
// chain before the application's handler. It decodes calls itself (any
// transport and protocol, detected per connection, THeader included) and runs
// the generated Processor on each, so replies keep the caller's framing even
// when handlers answer asynchronously (thrift's own THeader server does not).
import { AsyncLocalStorage } from 'node:async_hooks';
import * as net from 'node:net';
import * as thrift from 'thrift';
import { FrameReader, MeshError, MeshErrorCode, type Call, type Handler, type Mesh, type Message, type Metadata, type Reply, type Service } from 'meta-mesh';
import { createThriftCodec, thriftCodecFactory, type ThriftCodec } from './codec/thrift-codec';
import { ThriftFrameState } from './codec/frame-state';
import { protocolClass } from './thrift-options';
import { receiverOf } from './thrift-lib';

/** Anything with the generated processor's `process(input, output)`. */
export interface ThriftProcessor {
  process(input: unknown, output: unknown): unknown;
}

// Generated Processor constructors take the handler with its own typed shape.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type ProcessorClass = new (handler: any) => ThriftProcessor;

export interface ThriftServerOptions {
  /** Largest message accepted (default 16 MiB). */
  maxFrameSize?: number;
  /**
   * The mesh service this server is a workload of (its ServiceEntry host and port). The
   * MetaRouter of that host then applies here inbound: its localRateLimit and globalRateLimit.
   */
  service?: { host: string; port: number };
  /** Names the service in inbound metadata and errors (default `inbound|<port>||`). */
  serviceName?: string;
}

const inboundCall = new AsyncLocalStorage<Call>();

/**
 * The metadata of the inbound call being handled (THeader headers, method,
 * service), for use inside a handler. Undefined outside one.
 */
export function getCallMetadata(): Metadata | undefined {
  return inboundCall.getStore()?.metadata;
}

export class ThriftServer {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private readonly chain: Handler;
  private readonly processor: ThriftProcessor;
  private service: Service;
  private closed = false;

  constructor(
    private readonly mesh: Mesh,
    processor: ThriftProcessor,
    private readonly options: ThriftServerOptions = {},
  ) {
    this.processor = processor;
    this.service = { host: options.serviceName ?? 'inbound||', port: 0, portName: '', protocol: 'thrift', routeConfigName: options.serviceName ?? 'inbound||' };
    this.chain = mesh.inbound((call) => this.runProcessor(call), options.service);
    this.server = net.createServer((socket) => this.accept(socket));
    mesh.onClose(() => this.close());
  }

  /** Starts listening; resolves with the bound port (pass 0 for any free port). */
  listen(port: number, host = '127.0.0.1'): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        const bound = (this.server.address() as net.AddressInfo).port;
        const name = this.options.serviceName ?? `inbound|${bound}||`;
        this.service = { host: name, port: bound, portName: '', protocol: 'thrift', routeConfigName: name };
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
    const codec = createThriftCodec({ maxFrameSize: this.options.maxFrameSize });
    const reader = new FrameReader(codec, 'request');
    socket.on('data', (chunk: Buffer) => {
      try {
        reader.push(chunk, (request) => this.serve(socket, codec, request));
      } catch (err) {
        // The stream lost its framing: say why in the protocol's own words, then hang up.
        const error = MeshError.from(err, MeshErrorCode.CODEC);
        socket.end(codec.encodeError(undefined, error));
      }
    });
  }

  private serve(socket: net.Socket, codec: ThriftCodec, request: Message): void {
    const call: Call = {
      direction: 'inbound',
      service: this.service,
      request,
      metadata: request.metadata,
      mutation: new Map(),
      codec,
      codecFactory: thriftCodecFactory,
      encodeOptions: undefined,
      expectReply: request.type !== 'oneway',
      startTime: performance.now(),
      timeoutMs: this.mesh.defaultTimeoutMs,
    };
    this.chain(call).then(
      (reply) => {
        if (reply === undefined || socket.destroyed) return;
        socket.write(codec.encode(reply.message, { requestId: request.requestId, mutation: reply.mutation as Map<string, string> | undefined, transport: ThriftFrameState.of(request).format.transport }));
      },
      (err: unknown) => {
        if (!call.expectReply || socket.destroyed) return;
        socket.write(codec.encodeError(request, MeshError.from(err)));
      },
    );
  }

  /** The terminal handler: runs the generated processor on the call's bytes. */
  private runProcessor(call: Call): Promise<Reply | undefined> {
    const request = call.request;
    const format = ThriftFrameState.of(request).format;
    const Protocol = protocolClass(format.protocol);
    // The processor reads a bare message: strip the framing (and THeader) first.
    const bare = (call.codec as ThriftCodec).encode(request, { transport: 'unframed' });
    return new Promise<Reply | undefined>((resolve, reject) => {
      const output = new thrift.TBufferedTransport(undefined, (buf?: Buffer) => {
        if (buf === undefined) return;
        try {
          const replyCodec = createThriftCodec({ format: { transport: 'unframed', protocol: format.protocol } });
          const decoded = replyCodec.decode(buf, 'response');
          if (decoded.status !== 'done') throw new MeshError(MeshErrorCode.INTERNAL, 'the processor wrote an incomplete reply');
          resolve({ message: decoded.message });
        } catch (err) {
          reject(MeshError.from(err, MeshErrorCode.INTERNAL));
        }
      });
      const receiver = receiverOf(thrift.TBufferedTransport, (input) => {
        inboundCall.run(call, () => {
          try {
            this.processor.process(new Protocol(input), new Protocol(output));
          } catch (err) {
            reject(MeshError.from(err, MeshErrorCode.INTERNAL));
            return;
          }
          if (!call.expectReply) resolve(undefined);
        });
      });
      receiver(bare);
    });
  }
}

/**
 * A Thrift server for `service` (a generated module or its Processor class,
 * or a ready processor such as thrift.MultiplexedProcessor) behind the mesh's
 * inbound chain:
 *
 *     const server = createThriftServer(mesh, Calculator, handler);
 *     await server.listen(9090);
 */
export function createThriftServer(
  mesh: Mesh,
  service: { Processor: ProcessorClass } | ProcessorClass | ThriftProcessor,
  handler?: unknown,
  options?: ThriftServerOptions,
): ThriftServer {
  let processor: ThriftProcessor;
  if (typeof service === 'function') processor = new service(handler);
  else if ('Processor' in service && typeof service.Processor === 'function') processor = new service.Processor(handler);
  else if (typeof (service as ThriftProcessor).process === 'function') processor = service as ThriftProcessor;
  else throw new MeshError(MeshErrorCode.CONFIG, 'createThriftServer needs a generated service module, its Processor class, or a processor with process(input, output)');
  return new ThriftServer(mesh, processor, options);
}
