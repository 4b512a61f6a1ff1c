// InboundServer: the listening side every protocol's server adapter shares.
// It accepts TCP connections, frames requests with the protocol's codec (one
// codec per connection, so per-connection format detection works), answers
// heartbeats, runs each call through the mesh's inbound chain and writes the
// reply, or a protocol-native error, back. A stream that loses its framing
// gets an error reply that says why, then the connection is closed.
import * as net from 'node:net';
import type { Service } from '../config/model';
import type { Call, Handler, Reply } from '../filters/call';
import type { Mesh } from '../mesh';
import type { Codec, CodecFactory, EncodeOptions } from '../protocol/codec';
import { FrameReader } from '../protocol/frame-reader';
import type { Message } from '../protocol/message';
import { MeshError, MeshErrorCode } from '../protocol/mesh-error';
import { acceptDownstreamSocket, type DownstreamTransport } from './accept-downstream-socket';

export interface InboundServerOptions {
  /** Makes the codec of each accepted connection. */
  readonly codecFactory: CodecFactory;
  /** The application side: answers a call that passed the inbound chain. */
  readonly terminal: Handler;
  /** The mesh service this server is a workload of: its MetaRouter's rate limits apply inbound. */
  readonly served?: { readonly host: string; readonly port: number };
  /** Names the service in metadata and errors (default `inbound|<port>||`, as Aeraki names inbound clusters). */
  readonly serviceName?: string;
  /** Extra encode options for a reply to `request` (Thrift keeps the caller's transport). */
  readonly replyOptions?: (request: Message) => EncodeOptions | undefined;
  /** How accepted connections are secured before the codec reads them (TLS settings plug in here). */
  readonly transport?: DownstreamTransport;
}

export class InboundServer {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private readonly chain: Handler;
  private service: Service;
  private closed = false;

  constructor(
    private readonly mesh: Mesh,
    private readonly options: InboundServerOptions,
  ) {
    this.service = this.serviceFor(0);
    this.chain = mesh.inbound(options.terminal, options.served);
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
        this.service = this.serviceFor(bound);
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

  private serviceFor(port: number): Service {
    const name = this.options.serviceName ?? `inbound|${port}||`;
    return { host: name, port, portName: '', protocol: this.options.codecFactory.protocol, routeConfigName: name };
  }

  private accept(raw: net.Socket): void {
    this.sockets.add(raw);
    raw.on('close', () => this.sockets.delete(raw));
    raw.on('error', () => undefined);
    acceptDownstreamSocket(raw, this.options.transport, ({ socket }) => this.open(socket));
  }

  /** A connection ready for the protocol: frame its requests and serve them. */
  private open(socket: net.Socket): void {
    if (socket.destroyed) return;
    if (!this.sockets.has(socket)) socket.on('error', () => undefined);
    const codec = this.options.codecFactory.create();
    const reader = new FrameReader(codec, 'request');
    socket.on('data', (chunk: Buffer) => {
      try {
        reader.push(chunk, (message) => this.serve(socket, codec, message));
      } catch (err) {
        // The stream lost its framing: say why in the protocol's own words, then hang up.
        socket.end(codec.encodeError(undefined, MeshError.from(err, MeshErrorCode.CODEC)));
      }
    });
  }

  private serve(socket: net.Socket, codec: Codec, request: Message): void {
    if (request.type === 'heartbeat') {
      if (codec.encodeHeartbeatReply !== undefined && !socket.destroyed) socket.write(codec.encodeHeartbeatReply(request));
      return;
    }
    // Replies from a confused peer are not calls.
    if (request.type !== 'request' && request.type !== 'oneway') return;
    const startTime = performance.now();
    const call: Call = {
      direction: 'inbound',
      service: this.service,
      request,
      metadata: request.metadata,
      mutation: new Map(),
      codec,
      codecFactory: this.options.codecFactory,
      encodeOptions: undefined,
      expectReply: request.type !== 'oneway',
      startTime,
      timeoutMs: this.mesh.defaultTimeoutMs,
      signal: this.mesh.callSignal(this.mesh.defaultTimeoutMs, startTime),
    };
    this.run(call).then(
      (reply) => {
        if (reply === undefined || !call.expectReply || socket.destroyed) return;
        const mutation = reply.mutation === undefined || reply.mutation.size === 0 ? undefined : new Map(reply.mutation);
        const extra = this.options.replyOptions?.(request);
        socket.write(codec.encode(reply.message, { ...extra, requestId: request.requestId, mutation }));
      },
      (err: unknown) => {
        if (!call.expectReply || socket.destroyed) return;
        socket.write(codec.encodeError(request, MeshError.from(err)));
      },
    );
  }

  /** One rule for every throw: a filter or handler that throws synchronously fails its own call, never the connection. */
  private run(call: Call): Promise<Reply | undefined> {
    try {
      return this.chain(call);
    } catch (err) {
      return Promise.reject(err);
    }
  }
}
