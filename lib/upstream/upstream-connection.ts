// UpstreamConnection: one socket to one endpoint. Each call gets a
// connection-unique request id written into its bytes by the codec, and
// replies are matched back by that id, so several calls can share it (the
// multiplexed model) and a pooled connection can carry one call after another
// (the exclusive model). What it buffers for a peer is bounded: a write
// queue over its limit refuses new calls (OVERFLOW), and a call whose bytes
// could not even leave before its deadline resets the connection
// (UPSTREAM_RESET), since a peer that stopped reading will never answer.
import type * as net from 'node:net';
import type { Codec, EncodeOptions } from '../protocol/codec';
import { FrameReader } from '../protocol/frame-reader';
import type { Message } from '../protocol/message';
import { MeshError, MeshErrorCode } from '../protocol/mesh-error';
import { deadlineCovers, type SendContext } from './connection-limits';
import { openUpstreamSocket } from './open-upstream-socket';
import type { UpstreamTransport } from './upstream-transport';

/** The endpoint, its codec, and the transport settings (connect deadline, TLS) of the connect this connection makes. */
export interface UpstreamConnectionOptions extends UpstreamTransport {
  readonly address: string;
  readonly port: number;
  /** Frames the reply stream; one instance per connection. */
  readonly codec: Codec;
  /** Bytes queued for the peer (not yet taken by the kernel) past which new calls are refused with OVERFLOW. Default 4 MiB. */
  readonly writeQueueLimitBytes?: number | undefined;
  /**
   * Hold writes made in one tick and send them in one segment (default true). A
   * connection that carries one call at a time has nothing to coalesce: false saves the deferral.
   */
  readonly coalesceWrites?: boolean | undefined;
}

/** Default bound of a connection's write queue (Envoy's per-connection buffer limit is 1 MiB; calls here may be larger). */
export const DEFAULT_WRITE_QUEUE_LIMIT_BYTES = 4 * 1024 * 1024;

interface PendingCall {
  resolve(reply: Message): void;
  reject(error: MeshError): void;
  /** Its own timer, when the call's deadline does not end it first (a per-try timeout, a caller without a deadline). */
  timer: NodeJS.Timeout | undefined;
  /** Stops watching the call's deadline. */
  unwatch: (() => void) | undefined;
  /** Where the call's bytes end in the stream written to the socket (0 while still in the outbox). */
  end: number;
  /** performance.now() when the call was sent. */
  readonly sentAt: number;
  /** Stops listening to the call's signal. */
  unlisten: (() => void) | undefined;
}

/** Bytes waiting for the socket to connect, and the call they belong to (0 for oneway). */
interface Queued {
  readonly bytes: Buffer;
  readonly id: number;
}

type State = 'idle' | 'connecting' | 'ready' | 'closed';

/** The largest id handed out before wrapping; fits a Thrift i32 seqid. */
const MAX_REQUEST_ID = 0x7fffffff;

export class UpstreamConnection {
  private state: State = 'idle';
  private socket: net.Socket | undefined;
  private readonly reader: FrameReader;
  private readonly pending = new Map<number, PendingCall>();
  private outbox: Queued[] = [];
  private outboxBytes = 0;
  /** Bytes handed to the socket so far; minus its writableLength, the bytes the kernel took. */
  private written = 0;
  /** performance.now() of the last bytes read from the peer. */
  private lastReadAt = 0;
  /** Oneway calls written before the socket connected: settled when their bytes leave, or when the connect fails. */
  private onewayWaiters: { resolve(): void; reject(e: MeshError): void }[] = [];
  private nextId = 1;
  private corked = false;
  private draining = false;
  private connectWaiters: { resolve(): void; reject(e: MeshError): void }[] = [];
  private readonly writeQueueLimit: number;
  /** Called once when the connection ends for any reason. */
  onClose: ((conn: UpstreamConnection) => void) | undefined;
  /** Calls answered after they had already timed out or were unknown. */
  strayReplies = 0;

  constructor(private readonly options: UpstreamConnectionOptions) {
    this.reader = new FrameReader(options.codec, 'response');
    this.writeQueueLimit = options.writeQueueLimitBytes ?? DEFAULT_WRITE_QUEUE_LIMIT_BYTES;
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

  /** Bytes waiting to reach the peer: queued for the connect, or written and not yet taken by the kernel. */
  get queuedBytes(): number {
    return this.outboxBytes + (this.socket?.writableLength ?? 0);
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
   * CONNECT_FAILURE, OVERFLOW (write queue full) or CLOSED. The context's
   * `deadline` (else `signal`) takes a call still waiting for the connect out
   * of the queue at once; when the deadline comes no later than `timeoutMs`,
   * it also ends a call written and unanswered, and no timer is armed.
   */
  send(request: Message, options: EncodeOptions | undefined, timeoutMs: number, expectReply: boolean, ctx?: SendContext): Promise<Message | undefined> {
    if (this.state === 'closed') return Promise.reject(this.closedError());
    const deadline = ctx?.deadline;
    const signal = deadline === undefined ? ctx?.signal : undefined;
    if (signal?.aborted) return Promise.reject(MeshError.from(signal.reason, MeshErrorCode.CLOSED));
    const full = this.queueFullError();
    if (full !== undefined) return Promise.reject(full);
    if (!expectReply) {
      const bytes = this.options.codec.encode(request, options);
      if (this.state === 'ready') {
        this.write(bytes, 0);
        return Promise.resolve(undefined);
      }
      // Not connected yet: the call is sent only once the socket is, and a failed connect
      // fails it (CONNECT_FAILURE), so a retry policy can send it elsewhere instead of losing it.
      return new Promise<undefined>((resolve, reject) => {
        this.onewayWaiters.push({ resolve: () => resolve(undefined), reject });
        this.write(bytes, 0);
      });
    }
    const id = this.allocateId();
    const bytes = this.options.codec.encode(request, options === undefined ? { requestId: id } : { ...options, requestId: id });
    return new Promise<Message>((resolve, reject) => {
      const now = performance.now();
      const call: PendingCall = { resolve, reject, timer: undefined, unwatch: undefined, end: 0, sentAt: now, unlisten: undefined };
      if (deadline !== undefined && deadlineCovers(deadline, timeoutMs, now)) {
        // The call's own deadline ends it: one timer per call, not one here as well.
        call.unwatch = deadline.onAbort((reason) => {
          if (reason.code === MeshErrorCode.TIMEOUT) this.expire(id, timeoutMs);
          else this.abandon(id, reason);
        });
      } else {
        if (timeoutMs > 0 && Number.isFinite(timeoutMs)) call.timer = setTimeout(() => this.expire(id, timeoutMs), timeoutMs);
        if (deadline !== undefined && this.state !== 'ready') call.unwatch = deadline.onAbort((reason) => this.abandon(id, reason));
      }
      // Only a call queued for the connect listens to its signal; once written, its own timer ends it.
      if (signal !== undefined && this.state !== 'ready') {
        const onAbort = (): void => this.abandon(id, MeshError.from(signal.reason, MeshErrorCode.CLOSED));
        signal.addEventListener('abort', onAbort, { once: true });
        call.unlisten = () => signal.removeEventListener('abort', onAbort);
      }
      this.pending.set(id, call);
      call.end = this.write(bytes, id);
    });
  }

  /** Closes once every call in flight has its reply; new sends are refused. */
  drain(): void {
    this.draining = true;
    if (this.pending.size === 0) this.close();
  }

  /** Closes now; calls in flight fail with `code`. */
  close(code: MeshErrorCode = MeshErrorCode.CLOSED, reason = 'connection closed by meta-mesh'): void {
    this.fail(code, reason);
  }

  private open(): void {
    this.state = 'connecting';
    const connectTimer = setTimeout(() => {
      this.fail(MeshErrorCode.CONNECT_FAILURE, `connect to ${this.endpoint} timed out after ${this.options.connectTimeoutMs} ms`);
    }, this.options.connectTimeoutMs);
    const socket = openUpstreamSocket(
      this.options,
      this.options,
      () => {
        clearTimeout(connectTimer);
        this.onConnected();
      },
      (chunk) => this.onData(chunk),
    );
    this.socket = socket;
    socket.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(connectTimer);
      const connecting = this.state === 'connecting';
      this.fail(
        connecting ? MeshErrorCode.CONNECT_FAILURE : MeshErrorCode.UPSTREAM_RESET,
        connecting
          ? `cannot connect to ${this.endpoint}: ${(err as { meshReason?: string }).meshReason ?? err.code ?? err.message}`
          : `connection to ${this.endpoint} failed: ${err.code ?? err.message}`,
      );
    });
    socket.on('close', () => {
      clearTimeout(connectTimer);
      this.fail(MeshErrorCode.UPSTREAM_RESET, `${this.endpoint} closed the connection`);
    });
  }

  /** The socket can carry calls: connect waiters go on, and the calls queued for the connect are written. */
  private onConnected(): void {
    if (this.state !== 'connecting') return;
    this.state = 'ready';
    const waiters = this.connectWaiters;
    this.connectWaiters = [];
    for (const w of waiters) w.resolve();
    const queued = this.outbox;
    this.outbox = [];
    this.outboxBytes = 0;
    for (const q of queued) {
      const call = q.id === 0 ? undefined : this.pending.get(q.id);
      if (q.id !== 0 && call === undefined) continue;
      const end = this.write(q.bytes, q.id);
      if (call !== undefined) {
        call.end = end;
        call.unlisten?.();
        call.unlisten = undefined;
      }
    }
    const sent = this.onewayWaiters;
    this.onewayWaiters = [];
    for (const w of sent) w.resolve();
  }

  /** Writes (or queues until connected) one call's bytes; returns where they end in the written stream (0 if queued). */
  private write(bytes: Buffer, id: number): number {
    if (this.state !== 'ready') {
      this.outbox.push({ bytes, id });
      this.outboxBytes += bytes.length;
      if (this.state === 'idle') this.open();
      return 0;
    }
    const socket = this.socket!;
    // Calls issued in the same tick leave in one TCP segment.
    if (!this.corked && this.options.coalesceWrites !== false) {
      this.corked = true;
      socket.cork();
      process.nextTick(() => {
        this.corked = false;
        socket.uncork();
      });
    }
    socket.write(bytes);
    this.written += bytes.length;
    return this.written;
  }

  /** OVERFLOW when the queue for the peer is over its limit: the peer is not reading, more bytes would only pile up. */
  private queueFullError(): MeshError | undefined {
    const queued = this.queuedBytes;
    if (queued <= this.writeQueueLimit) return undefined;
    return new MeshError(
      MeshErrorCode.OVERFLOW,
      `${queued} bytes already wait to be sent to ${this.endpoint} (limit ${this.writeQueueLimit}): the upstream is not reading; the call was not sent`,
      { details: { endpoint: this.endpoint, queuedBytes: queued, limit: this.writeQueueLimit } },
    );
  }

  private onData(chunk: Buffer): void {
    this.lastReadAt = performance.now();
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
      if (encode !== undefined && this.state === 'ready') this.write(encode.call(this.options.codec, reply), 0);
      return;
    }
    const id = Number(reply.requestId);
    const call = this.pending.get(id);
    if (call === undefined) {
      this.strayReplies++;
      return;
    }
    this.pending.delete(id);
    stopWaiting(call);
    call.unlisten?.();
    call.resolve(reply);
    if (this.draining && this.pending.size === 0) this.close();
  }

  private expire(id: number, timeoutMs: number): void {
    const call = this.pending.get(id);
    if (call === undefined) return;
    const socket = this.socket;
    const backlog = socket === undefined ? 0 : socket.writableLength;
    // The call's bytes never even left, or bytes wait to be sent and nothing came back since this call was
    // written: the peer stopped reading. Nothing on this socket will be answered.
    if (this.state === 'ready' && backlog > 0 && (call.end > this.written - backlog || this.lastReadAt < call.sentAt)) {
      this.fail(
        MeshErrorCode.UPSTREAM_RESET,
        `${this.endpoint} stopped reading: no reply within ${timeoutMs} ms and ${backlog} bytes still wait to be sent; the connection was reset`,
      );
      return;
    }
    this.abandon(id, new MeshError(MeshErrorCode.TIMEOUT, `no reply from ${this.endpoint} within ${timeoutMs} ms`, { details: { endpoint: this.endpoint } }));
  }

  /** Ends one call with `error`; bytes it still had waiting for the connect are dropped. */
  private abandon(id: number, error: MeshError): void {
    const call = this.pending.get(id);
    if (call === undefined) return;
    this.pending.delete(id);
    stopWaiting(call);
    call.unlisten?.();
    if (call.end === 0 && this.outbox.length > 0) {
      const i = this.outbox.findIndex((q) => q.id === id);
      if (i >= 0) this.outboxBytes -= this.outbox.splice(i, 1)[0]!.bytes.length;
    }
    call.reject(error);
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
    const details = { endpoint: this.endpoint };
    const waiters = this.connectWaiters;
    this.connectWaiters = [];
    for (const w of waiters) w.reject(new MeshError(code, message, { details }));
    const oneways = this.onewayWaiters;
    this.onewayWaiters = [];
    for (const w of oneways) w.reject(new MeshError(code, message, { details }));
    const calls = [...this.pending.values()];
    this.pending.clear();
    // Queued bytes never left: the calls they belong to fail below (or were oneway).
    this.outbox = [];
    this.outboxBytes = 0;
    for (const call of calls) {
      stopWaiting(call);
      call.unlisten?.();
      call.reject(new MeshError(code, message, { details }));
    }
    this.onClose?.(this);
  }

  private closedError(): MeshError {
    return new MeshError(MeshErrorCode.CLOSED, `connection to ${this.endpoint} is closed`, { details: { endpoint: this.endpoint } });
  }
}

/** Stops the call's timer and its deadline watch. */
function stopWaiting(call: PendingCall): void {
  if (call.timer !== undefined) clearTimeout(call.timer);
  call.unwatch?.();
}
