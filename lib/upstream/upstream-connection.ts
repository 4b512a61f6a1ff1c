// UpstreamConnection: one socket to one endpoint, shared by many concurrent
// calls. Each call gets a connection-unique request id written into its bytes
// by the codec, and replies are matched back by that id, so callers never wait
// for each other (the reference takes an exclusive connection per request).
import type * as net from 'node:net';
import type { Codec, EncodeOptions } from '../protocol/codec';
import { FrameReader } from '../protocol/frame-reader';
import type { Message } from '../protocol/message';
import { MeshError, MeshErrorCode } from '../protocol/mesh-error';
import { openUpstreamSocket } from './open-upstream-socket';
import type { UpstreamTransport } from './upstream-transport';

/** The endpoint, its codec, and the transport settings (connect deadline, TLS) of the connect this connection makes. */
export interface UpstreamConnectionOptions extends UpstreamTransport {
  readonly address: string;
  readonly port: number;
  /** Frames the reply stream; one instance per connection. */
  readonly codec: Codec;
}

interface PendingCall {
  resolve(reply: Message): void;
  reject(error: MeshError): void;
  timer: NodeJS.Timeout | undefined;
}

type State = 'idle' | 'connecting' | 'ready' | 'closed';

/** The largest id handed out before wrapping; fits a Thrift i32 seqid. */
const MAX_REQUEST_ID = 0x7fffffff;

export class UpstreamConnection {
  private state: State = 'idle';
  private socket: net.Socket | undefined;
  private readonly reader: FrameReader;
  private readonly pending = new Map<number, PendingCall>();
  private outbox: Buffer[] = [];
  /** Oneway calls written before the socket connected: settled when their bytes leave, or when the connect fails. */
  private onewayWaiters: { resolve(): void; reject(e: MeshError): void }[] = [];
  private nextId = 1;
  private corked = false;
  private draining = false;
  private connectWaiters: { resolve(): void; reject(e: MeshError): void }[] = [];
  /** Called once when the connection ends for any reason. */
  onClose: ((conn: UpstreamConnection) => void) | undefined;
  /** Calls answered after they had already timed out or were unknown. */
  strayReplies = 0;

  constructor(private readonly options: UpstreamConnectionOptions) {
    this.reader = new FrameReader(options.codec, 'response');
  }

  get endpoint(): string {
    return `${this.options.address}:${this.options.port}`;
  }

  get isClosed(): boolean {
    return this.state === 'closed';
  }

  get isReady(): boolean {
    return this.state === 'ready';
  }

  /** Calls written and awaiting a reply. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Opens the socket; resolves when it is connected. Safe to call repeatedly. */
  connect(): Promise<void> {
    if (this.state === 'ready') return Promise.resolve();
    if (this.state === 'closed') return Promise.reject(this.closedError());
    const waiting = new Promise<void>((resolve, reject) => this.connectWaiters.push({ resolve, reject }));
    if (this.state === 'idle') this.open();
    return waiting;
  }

  /**
   * Sends one request. Resolves with the reply (its requestId is this
   * connection's id, not the caller's), or undefined for a oneway call once
   * written. Rejects with a MeshError: TIMEOUT, UPSTREAM_RESET,
   * CONNECT_FAILURE or CLOSED.
   */
  send(request: Message, options: EncodeOptions | undefined, timeoutMs: number, expectReply: boolean): Promise<Message | undefined> {
    if (this.state === 'closed') return Promise.reject(this.closedError());
    if (!expectReply) {
      const bytes = this.options.codec.encode(request, options);
      if (this.state === 'ready') {
        this.write(bytes);
        return Promise.resolve(undefined);
      }
      // Not connected yet: the call is sent only once the socket is, and a failed connect
      // fails it (CONNECT_FAILURE), so a retry policy can send it elsewhere instead of losing it.
      return new Promise<undefined>((resolve, reject) => {
        this.onewayWaiters.push({ resolve: () => resolve(undefined), reject });
        this.write(bytes);
      });
    }
    const id = this.allocateId();
    const bytes = this.options.codec.encode(request, options === undefined ? { requestId: id } : { ...options, requestId: id });
    return new Promise<Message>((resolve, reject) => {
      const call: PendingCall = { resolve, reject, timer: undefined };
      if (timeoutMs > 0 && Number.isFinite(timeoutMs)) {
        call.timer = setTimeout(() => this.expire(id, timeoutMs), timeoutMs);
      }
      this.pending.set(id, call);
      this.write(bytes);
    });
  }

  /** Closes once every call in flight has its reply; new sends are refused. */
  drain(): void {
    this.draining = true;
    if (this.pending.size === 0) this.close();
  }

  /** Closes now; calls in flight fail with `code`. */
  close(code: MeshErrorCode = MeshErrorCode.CLOSED, reason = 'connection closed by meta-mesh'): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.socket?.destroy();
    this.socket = undefined;
    this.failAll(code, reason);
  }

  private open(): void {
    this.state = 'connecting';
    const connectTimer = setTimeout(() => {
      this.fail(MeshErrorCode.CONNECT_FAILURE, `connect to ${this.endpoint} timed out after ${this.options.connectTimeoutMs} ms`);
    }, this.options.connectTimeoutMs);
    const socket = openUpstreamSocket(this.options, this.options, () => {
      clearTimeout(connectTimer);
      if (this.state !== 'connecting') return;
      this.state = 'ready';
      const waiters = this.connectWaiters;
      this.connectWaiters = [];
      for (const w of waiters) w.resolve();
      const queued = this.outbox;
      this.outbox = [];
      for (const bytes of queued) this.write(bytes);
      const sent = this.onewayWaiters;
      this.onewayWaiters = [];
      for (const w of sent) w.resolve();
    });
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(connectTimer);
      const connecting = this.state === 'connecting';
      this.fail(
        connecting ? MeshErrorCode.CONNECT_FAILURE : MeshErrorCode.UPSTREAM_RESET,
        connecting ? `cannot connect to ${this.endpoint}: ${err.code ?? err.message}` : `connection to ${this.endpoint} failed: ${err.code ?? err.message}`,
      );
    });
    socket.on('close', () => {
      clearTimeout(connectTimer);
      this.fail(MeshErrorCode.UPSTREAM_RESET, `${this.endpoint} closed the connection`);
    });
  }

  private write(bytes: Buffer): void {
    if (this.state !== 'ready') {
      this.outbox.push(bytes);
      if (this.state === 'idle') this.open();
      return;
    }
    const socket = this.socket!;
    // Calls issued in the same tick leave in one TCP segment.
    if (!this.corked) {
      this.corked = true;
      socket.cork();
      process.nextTick(() => {
        this.corked = false;
        socket.uncork();
      });
    }
    socket.write(bytes);
  }

  private onData(chunk: Buffer): void {
    try {
      this.reader.push(chunk, (reply) => this.onReply(reply));
    } catch (err) {
      const error = MeshError.from(err, MeshErrorCode.CODEC);
      this.fail(MeshErrorCode.UPSTREAM_RESET, `${this.endpoint} sent bytes that cannot be decoded (${error.message}); the connection was reset`);
    }
  }

  private onReply(reply: Message): void {
    if (reply.type === 'heartbeat') {
      // Servers that probe idle connections (Dubbo providers) close them unless answered.
      const encode = this.options.codec.encodeHeartbeatReply;
      if (encode !== undefined && this.state === 'ready') this.write(encode.call(this.options.codec, reply));
      return;
    }
    const id = Number(reply.requestId);
    const call = this.pending.get(id);
    if (call === undefined) {
      this.strayReplies++;
      return;
    }
    this.pending.delete(id);
    if (call.timer !== undefined) clearTimeout(call.timer);
    call.resolve(reply);
    if (this.draining && this.pending.size === 0) this.close();
  }

  private expire(id: number, timeoutMs: number): void {
    const call = this.pending.get(id);
    if (call === undefined) return;
    this.pending.delete(id);
    call.reject(new MeshError(MeshErrorCode.TIMEOUT, `no reply from ${this.endpoint} within ${timeoutMs} ms`, { details: { endpoint: this.endpoint } }));
    if (this.draining && this.pending.size === 0) this.close();
  }

  private allocateId(): number {
    for (;;) {
      const id = this.nextId;
      this.nextId = id >= MAX_REQUEST_ID ? 1 : id + 1;
      if (!this.pending.has(id)) return id;
    }
  }

  private fail(code: MeshErrorCode, message: string): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.socket?.destroy();
    this.socket = undefined;
    this.failAll(code, message);
  }

  private failAll(code: MeshErrorCode, message: string): void {
    const details = { endpoint: this.endpoint };
    const waiters = this.connectWaiters;
    this.connectWaiters = [];
    for (const w of waiters) w.reject(new MeshError(code, message, { details }));
    const oneways = this.onewayWaiters;
    this.onewayWaiters = [];
    for (const w of oneways) w.reject(new MeshError(code, message, { details }));
    const calls = [...this.pending.values()];
    this.pending.clear();
    // Queued bytes never left: the calls they belong to fail above (or were oneway).
    this.outbox = [];
    for (const call of calls) {
      if (call.timer !== undefined) clearTimeout(call.timer);
      call.reject(new MeshError(code, message, { details }));
    }
    this.onClose?.(this);
  }

  private closedError(): MeshError {
    return new MeshError(MeshErrorCode.CLOSED, `connection to ${this.endpoint} is closed`, { details: { endpoint: this.endpoint } });
  }
}
