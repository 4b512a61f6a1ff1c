// ThriftConnection: what `createThriftConnection` returns. It stands where a
// `thrift.createConnection(...)` connection would, so `thrift.createClient`
// and `thrift.Multiplexer` clients use it unchanged: each message the client
// flushes becomes a Call through the mesh's outbound chain, and each reply (or
// protocol-native error) is handed back to the client's own receive path.
import { EventEmitter } from 'node:events';
import * as thrift from 'thrift';
import { MeshError, MeshErrorCode } from '../../lib/protocol/mesh-error';
import type { Message } from '../../lib/protocol';
import type { Call, Reply } from '../../lib/filters/call';
import type { Mesh, OutboundService } from '../../lib/mesh';
import { createThriftCodec, type ThriftCodec } from './codec/thrift-codec';
import type { ThriftEncodeOptions } from './codec/thrift-encode';
import { upstreamCodecFactory } from './upstream-codecs';
import type { CodecFactory } from '../../lib/protocol';
import { resolveFormat, type ProtocolOption, type ResolvedFormat, type TransportOption } from './thrift-options';

export interface ThriftConnectionOptions {
  /** How the client frames messages: 'buffered' (thrift's default) or 'framed', or the thrift class. */
  transport?: TransportOption | undefined;
  /** 'binary' (default) or 'compact', or the thrift class. */
  protocol?: ProtocolOption | undefined;
  /**
   * Send calls upstream as THeader instead of the client's own framing, so
   * per-call metadata and route mutations travel as THeader headers.
   */
  upstreamTransport?: 'same' | 'header' | undefined;
  /** Deadline per call when the route sets none (default: the mesh's defaultTimeoutMs). */
  timeoutMs?: number | undefined;
  /** Largest message accepted in either direction (default 16 MiB). */
  maxFrameSize?: number | undefined;
  /** Metadata added to every call of this connection (routable, and sent as headers with THeader). */
  metadata?: Record<string, string> | undefined;
}

interface ThriftClientLike {
  _reqs: Record<number, (err: unknown, result?: unknown) => void>;
  [method: string]: unknown;
}

export class ThriftConnection extends EventEmitter {
  /** Read by thrift.createClient / Multiplexer: the transport and protocol classes of the client. */
  readonly transport: ResolvedFormat['transportClass'];
  readonly protocol: ResolvedFormat['protocolClass'];
  /** Set by thrift.createClient (one client) or Multiplexer (service name → client). */
  client: ThriftClientLike | Record<string, ThriftClientLike> | undefined;
  /** Filled by Multiplexer clients: seqid → service name. */
  seqId2Service: Record<number, string> = {};
  /** Always true: there is no single socket to wait for. */
  readonly connected = true;

  private readonly format: ResolvedFormat;
  private readonly codec: ThriftCodec;
  private readonly outbound: OutboundService;
  private readonly codecFactory: CodecFactory;
  private readonly encodeUpstream: ThriftEncodeOptions | undefined;
  private readonly baseMetadata: readonly (readonly [string, string])[];
  private callMetadata: Record<string, string> | undefined;
  private readonly timeoutMs: number;
  private closed = false;
  /** Replies the thrift client could not take (no recv_ method for them). */
  undeliverable = 0;

  constructor(
    private readonly mesh: Mesh,
    readonly host: string,
    readonly port: number,
    options: ThriftConnectionOptions = {},
  ) {
    super();
    this.format = resolveFormat(options.transport, options.protocol);
    this.transport = this.format.transportClass;
    this.protocol = this.format.protocolClass;
    this.codec = createThriftCodec({
      maxFrameSize: options.maxFrameSize,
      format: { transport: this.format.transport, protocol: this.format.protocol },
    });
    this.encodeUpstream = options.upstreamTransport === 'header' ? { transport: 'header' } : undefined;
    this.codecFactory = upstreamCodecFactory(options.upstreamTransport === 'header' ? 'header' : this.format.transport, this.format.protocol, options.maxFrameSize);
    this.outbound = mesh.outbound(host, port, this.codecFactory);
    this.baseMetadata = Object.entries(options.metadata ?? {});
    this.timeoutMs = options.timeoutMs ?? mesh.defaultTimeoutMs;
  }

  /**
   * Runs `fn` with extra metadata on the calls it makes, e.g.
   * `conn.withMetadata({ 'x-user': 'u1' }, () => client.add(1, 2))`. The keys are
   * routable (MetaRouter `match.attributes`) and travel as THeader headers
   * when `upstreamTransport` is 'header'. Thrift clients write a call
   * synchronously, so only calls started inside `fn` carry them.
   */
  withMetadata<T>(metadata: Record<string, string>, fn: () => T): T {
    const previous = this.callMetadata;
    this.callMetadata = previous === undefined ? metadata : { ...previous, ...metadata };
    try {
      return fn();
    } finally {
      this.callMetadata = previous;
    }
  }

  /** Called by the generated client with each whole message it flushes. */
  write(bytes: Buffer, _seqid?: number): void {
    let request: Message;
    try {
      const decoded = this.codec.decode(bytes, 'request');
      if (decoded.status !== 'done') throw new MeshError(MeshErrorCode.CODEC, 'the thrift client flushed an incomplete message');
      request = decoded.message;
    } catch (err) {
      this.emitError(MeshError.from(err, MeshErrorCode.CODEC));
      return;
    }
    if (this.closed) {
      this.answerWithError(request, new MeshError(MeshErrorCode.CLOSED, `the thrift connection to ${this.host}:${this.port} is closed`));
      return;
    }
    const call = this.newCall(request);
    let pending: Promise<Reply | undefined>;
    try {
      pending = this.outbound.handle(call);
    } catch (err) {
      pending = Promise.reject(err);
    }
    pending.then(
      (reply) => {
        if (reply !== undefined) this.answer(request, reply);
      },
      (err: unknown) => {
        if (call.expectReply) this.answerWithError(request, MeshError.from(err));
        else this.emitError(MeshError.from(err));
      },
    );
  }

  /** Stops taking calls; calls already sent still get their replies. */
  end(): void {
    this.closed = true;
  }

  destroy(): void {
    this.closed = true;
  }

  private newCall(request: Message): Call {
    const metadata = request.metadata;
    const mutation = new Map<string, string>();
    const withHeaders = this.encodeUpstream !== undefined;
    for (const [k, v] of this.baseMetadata) {
      metadata.set(k, v);
      if (withHeaders) mutation.set(k, v);
    }
    const extra = this.callMetadata;
    if (extra !== undefined) {
      for (const k in extra) {
        metadata.set(k, extra[k]!);
        if (withHeaders) mutation.set(k, extra[k]!);
      }
    }
    const startTime = performance.now();
    // The signal is made only if something reads it; the mesh itself waits on the deadline.
    const deadline = this.mesh.callDeadline(this.timeoutMs, startTime);
    return {
      direction: 'outbound',
      service: this.outbound.service,
      request,
      metadata,
      mutation,
      codec: this.codec,
      codecFactory: this.codecFactory,
      encodeOptions: this.encodeUpstream,
      expectReply: request.type !== 'oneway',
      startTime,
      timeoutMs: this.timeoutMs,
      deadline,
      get signal() {
        return deadline.signal;
      },
    };
  }

  private answer(request: Message, reply: Reply): void {
    let bare: Buffer;
    try {
      // Unframed, with the client's own seqid back (the upstream saw a connection-unique one).
      bare = this.codec.encode(reply.message, { transport: 'unframed', requestId: request.requestId });
    } catch (err) {
      this.answerWithError(request, MeshError.from(err, MeshErrorCode.CODEC));
      return;
    }
    this.deliver(bare, calledMethod(request));
  }

  private answerWithError(request: Message, error: MeshError): void {
    // Rare path: the codec writes the error in the client's framing; take the bare message out of it.
    const framed = this.codec.encodeError(request, error);
    const decoded = this.codec.decode(framed, 'response');
    if (decoded.status === 'done') this.deliver(this.codec.encode(decoded.message, { transport: 'unframed' }), calledMethod(request));
  }

  /**
   * Hands one reply (a bare message, no framing) to the client that sent the
   * call, the way thrift's own Connection does. The bytes are exactly one
   * message, so this reads it once instead of looping until thrift's reader
   * throws an underrun (an exception with a stack trace on every reply).
   */
  private deliver(bare: Buffer, method: string): void {
    const trans = new thrift.TFramedTransport(bare);
    const input = new this.protocol(trans);
    let header: { fname: string; mtype: number; rseqid: number };
    try {
      header = input.readMessageBegin() as unknown as typeof header;
    } catch (err) {
      this.emitError(MeshError.from(err, MeshErrorCode.CODEC));
      return;
    }
    const seqid = header.rseqid;
    const serviceName = this.seqId2Service[seqid];
    const client = (serviceName === undefined ? this.client : (this.client as Record<string, ThriftClientLike> | undefined)?.[serviceName]) as
      | ThriftClientLike
      | undefined;
    if (serviceName !== undefined) delete this.seqId2Service[seqid];
    if (client === undefined) {
      this.undeliverable++;
      return;
    }
    // Looked up by the called method's name (equal to the reply's when it is delivered): a name made once per
    // method, not a string built and internalized per reply.
    const recv = header.fname === method ? client[recvName(method)] : undefined;
    if (typeof recv !== 'function') {
      // The reply has the call's seqid but another method's name: the reference
      // library's WRONG_METHOD_NAME, given to the caller now (not a call left waiting forever).
      const callback = client._reqs[seqid];
      delete client._reqs[seqid];
      const error = new thrift.Thrift.TApplicationException(
        thrift.Thrift.TApplicationExceptionType.WRONG_METHOD_NAME,
        `Received a response to an unknown RPC function: the reply to '${method}' (seqid ${seqid}) is named '${header.fname}'`,
      );
      if (callback === undefined) this.undeliverable++;
      else callback(error);
      return;
    }
    // Generated recv_ methods answer through _reqs[-seqid]; route that to the caller's callback.
    client._reqs[-seqid] = (err: unknown, result?: unknown) => {
      delete client._reqs[-seqid];
      const callback = client._reqs[seqid];
      delete client._reqs[seqid];
      callback?.(err, result);
    };
    try {
      (recv as (input: unknown, mtype: number, seqid: number) => void).call(client, input, header.mtype, -seqid);
    } catch (err) {
      delete client._reqs[-seqid];
      const callback = client._reqs[seqid];
      delete client._reqs[seqid];
      callback?.(MeshError.from(err, MeshErrorCode.CODEC));
    }
  }

  /** To the connection's 'error' listeners, else to the mesh's logger: never nowhere. */
  private emitError(error: MeshError): void {
    if (this.listenerCount('error') > 0) this.emit('error', error);
    else this.mesh.warn(`meta-mesh: thrift connection to ${this.host}:${this.port}: [${error.code}] ${error.message}`);
  }
}

/** `recv_<method>`, the generated client's reply reader, per method name (bounded: names come from the clients' own IDL). */
const recvNames = new Map<string, string>();
function recvName(method: string): string {
  let name = recvNames.get(method);
  if (name === undefined) {
    if (recvNames.size >= 4096) recvNames.clear();
    name = `recv_${method}`;
    recvNames.set(method, name);
  }
  return name;
}

/** The plain method name of a call (`add` for `Calculator:add`): the name its reply must carry. */
function calledMethod(request: Message): string {
  const op = request.operationName;
  return op.slice(op.lastIndexOf('/') + 1);
}

/**
 * A connection to `host:port` through the mesh, for `thrift.createClient`:
 *
 *     const conn = createThriftConnection(mesh, 'calc.svc', 9090, { transport: 'framed' });
 *     const client = thrift.createClient(Calculator, conn);
 */
export function createThriftConnection(mesh: Mesh, host: string, port: number, options?: ThriftConnectionOptions): MeshThriftConnection {
  // Typed as thrift's Connection too, so thrift.createClient and Multiplexer accept it in TypeScript as they do in JS.
  return new ThriftConnection(mesh, host, port, options) as MeshThriftConnection;
}

/** A ThriftConnection that TypeScript also accepts wherever thrift wants a Connection. */
export type MeshThriftConnection = ThriftConnection & thrift.Connection;
