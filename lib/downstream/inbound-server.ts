// InboundServer: the listening side every protocol's server adapter shares.
// It accepts TCP connections, frames requests with the protocol's codec (one
// codec per connection, so per-connection format detection works), answers
// heartbeats, runs each call through the mesh's inbound chain and writes the
// reply, or a protocol-native error, back. A stream that loses its framing
// gets an error reply that says why, then the connection is closed. Its
// limits (ServerLimits) bound what clients can make it hold; each connection
// applies them in DownstreamConnection.
import * as net from 'node:net';
import type { Service } from '../config/model';
import type { Call, CallPeer, Handler, Reply } from '../filters/call';
import { peerOf, stripPeerLookalikes } from '../security/peer-identity';
import type { Mesh } from '../mesh';
import type { Codec, CodecFactory, EncodeOptions } from '../protocol/codec';
import type { Message } from '../protocol/message';
import { MeshError } from '../protocol/mesh-error';
import { acceptDownstreamSocket, type DownstreamTransport } from './accept-downstream-socket';
import { DownstreamConnection, type ServeCall } from './downstream-connection';
import { resolveServerLimits, type ResolvedServerLimits, type ServerLimits } from './server-limits';

export interface InboundServerOptions {
  /** Makes the codec of each accepted connection. */
  readonly codecFactory: CodecFactory;
  /** The application side: answers a call that passed the inbound chain. */
  readonly terminal: Handler;
  /** The mesh service this server is a workload of: its MetaRouter's rate limits apply inbound. */
  readonly served?: { readonly host: string; readonly port: number } | undefined;
  /** Names the service in metadata and errors (default `inbound|<port>||`, as Aeraki names inbound clusters). */
  readonly serviceName?: string | undefined;
  /** Extra encode options for a reply to `request` (Thrift keeps the caller's transport). */
  readonly replyOptions?: ((request: Message) => EncodeOptions | undefined) | undefined;
  /** How accepted connections are secured before the codec reads them (TLS settings plug in here). */
  readonly transport?: DownstreamTransport | undefined;
  /** Idle timeout, request deadline, connection and per-connection call caps, reply buffer bound (Envoy-like defaults). */
  readonly limits?: ServerLimits | undefined;
}

/** What the server's limits did so far. */
export interface InboundServerStats {
  readonly connections: number;
  readonly accepted: number;
  /** Connections closed at accept because maxConnections were open. */
  readonly refused: number;
  /** Connections closed after idleTimeoutMs with nothing to do. */
  readonly idleClosed: number;
  /** Connections closed because a request did not arrive whole within requestTimeoutMs. */
  readonly requestTimeouts: number;
}

export class InboundServer {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private readonly chain: Handler;
  /** The server's transport with the mesh's PeerAuthentication (mTLS) in it. */
  private readonly transport: DownstreamTransport;
  private service: Service;
  private closed = false;
  /** Takes this server off the mesh's close list: a server closed by itself must not stay referenced there. */
  private readonly unregister: () => void;
  private readonly limits: ResolvedServerLimits;
  private readonly counters = { accepted: 0, refused: 0, idleClosed: 0, requestTimeouts: 0 };

  constructor(
    private readonly mesh: Mesh,
    private readonly options: InboundServerOptions,
  ) {
    this.limits = resolveServerLimits(options.limits);
    this.service = this.serviceFor(0);
    this.chain = mesh.inbound(options.terminal, options.served);
    this.transport = { ...options.transport, tls: options.transport?.tls ?? mesh.downstreamTls };
    this.server = net.createServer((socket) => this.accept(socket));
    this.unregister = mesh.onClose(() => this.close());
    this.server.on('close', () => this.unregister());
  }

  /** Starts listening; resolves with the bound port (pass 0 for any free port). */
  listen(port = 0, host = '127.0.0.1'): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        const address = this.server.address() as net.AddressInfo;
        const bound = address.port;
        this.service = this.serviceFor(bound);
        this.transport.tls?.listening?.(address.address, bound);
        resolve(bound);
      });
    });
  }

  get port(): number {
    const address = this.server.address();
    return address !== null && typeof address === 'object' ? address.port : 0;
  }

  /** Counters of the server's limits, as a copy. */
  get stats(): InboundServerStats {
    return { connections: this.sockets.size, ...this.counters };
  }

  /** Stops accepting and closes every connection. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    this.unregister();
    for (const socket of this.sockets) socket.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private serviceFor(port: number): Service {
    const name = this.options.serviceName ?? `inbound|${port}||`;
    return { host: name, port, portName: '', protocol: this.options.codecFactory.protocol, routeConfigName: name };
  }

  private accept(raw: net.Socket): void {
    raw.on('error', () => undefined);
    if (this.closed || this.sockets.size >= this.limits.maxConnections) {
      // Over maxConnections: refused before any byte is read, so a flood of connections costs nothing to hold.
      this.counters.refused++;
      raw.destroy();
      return;
    }
    this.sockets.add(raw);
    this.counters.accepted++;
    raw.on('close', () => this.sockets.delete(raw));
    acceptDownstreamSocket(raw, this.transport, ({ socket }) => this.open(socket));
  }

  /** A connection ready for the protocol: frame its requests and serve them, within the server's limits. */
  private open(socket: net.Socket): void {
    if (socket.destroyed) return;
    if (!this.sockets.has(socket)) socket.on('error', () => undefined);
    // Who the peer is comes from the connection (its address, its verified certificate), once.
    const peer = peerOf(socket);
    const serve: ServeCall = (request, codec) => this.serveCall(request, codec, peer);
    new DownstreamConnection(socket, this.options.codecFactory.create(), this.limits, serve, (reason) => {
      if (reason === 'idle') this.counters.idleClosed++;
      else this.counters.requestTimeouts++;
    });
  }

  /** Runs one call through the inbound chain; resolves with the reply's bytes (or the error reply's), undefined for oneway. */
  private serveCall(request: Message, codec: Codec, peer: CallPeer): Promise<Buffer | undefined> {
    // The peer's identity comes from the connection only: keys that look like it in the message are dropped.
    stripPeerLookalikes(request.metadata, peer);
    const startTime = performance.now();
    const deadline = this.mesh.callDeadline(this.mesh.defaultTimeoutMs, startTime);
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
      deadline,
      get signal() {
        return deadline.signal;
      },
      peer,
    };
    return this.run(call).then(
      (reply) => {
        if (reply === undefined || !call.expectReply) return undefined;
        const mutation = reply.mutation === undefined || reply.mutation.size === 0 ? undefined : new Map(reply.mutation);
        const extra = this.options.replyOptions?.(request);
        return codec.encode(reply.message, { ...extra, requestId: request.requestId, mutation });
      },
      (err: unknown) => (call.expectReply ? codec.encodeError(request, MeshError.from(err)) : undefined),
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
