// DownstreamConnection: one accepted connection of an inbound server, with
// the server's limits applied. It frames requests, answers heartbeats, hands
// each call to the server, and writes replies back; and it applies
// backpressure both ways: it stops reading while the calls in flight are at
// their cap or while replies back up for a client that does not read, and
// resumes once they drain. It closes connections that sit idle, and ones whose
// request does not arrive whole in time (slowloris).
import type * as net from 'node:net';
import type { Codec } from '../protocol/codec';
import { FrameReader } from '../protocol/frame-reader';
import type { Message } from '../protocol/message';
import { MeshError, MeshErrorCode } from '../protocol/mesh-error';
import type { ResolvedServerLimits } from './server-limits';

/** Serves one call; resolves with the reply's bytes, or undefined when nothing is to be written. */
export type ServeCall = (request: Message, codec: Codec) => Promise<Buffer | undefined>;

export class DownstreamConnection {
  private readonly reader: FrameReader;
  /** Whole requests read but not yet started: only while the calls in flight are at their cap. */
  private readonly waiting: Message[] = [];
  private inFlight = 0;
  private paused = false;
  private lastActive = performance.now();
  private idleTimer: NodeJS.Timeout | undefined;
  /** When the request now arriving sent its first bytes (undefined: none partly read). */
  private requestStarted: number | undefined;
  private requestTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly socket: net.Socket,
    private readonly codec: Codec,
    private readonly limits: ResolvedServerLimits,
    private readonly serve: ServeCall,
    /** Counts why connections were closed by the server (idle, request-timeout). */
    private readonly onLimit: (reason: 'idle' | 'request-timeout') => void,
  ) {
    this.reader = new FrameReader(codec, 'request');
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => {
      this.pump();
      this.flow();
    });
    socket.on('close', () => this.stop());
    this.armIdle(limits.idleTimeoutMs);
  }

  private onData(chunk: Buffer): void {
    this.lastActive = performance.now();
    try {
      this.reader.push(chunk, (message) => this.onMessage(message));
    } catch (err) {
      // The stream lost its framing: say why in the protocol's own words, then hang up.
      this.hangUp(MeshError.from(err, MeshErrorCode.CODEC));
      return;
    }
    this.watchPartialRequest();
    this.flow();
  }

  private onMessage(message: Message): void {
    // A message completed: a request after it starts its own clock.
    this.requestStarted = undefined;
    if (message.type === 'heartbeat') {
      if (this.codec.encodeHeartbeatReply !== undefined) this.write(this.codec.encodeHeartbeatReply(message));
      return;
    }
    // Replies from a confused peer are not calls.
    if (message.type !== 'request' && message.type !== 'oneway') return;
    if (this.waiting.length > 0 || !this.hasRoom()) this.waiting.push(message);
    else this.start(message);
  }

  /** Room for one more call: under the cap of calls in flight, and the client takes its replies. */
  private hasRoom(): boolean {
    return this.inFlight < this.limits.maxCallsPerConnection && this.socket.writableLength <= this.limits.writeBufferLimitBytes;
  }

  /** Starts the requests read while there was no room, as far as there is room now. */
  private pump(): void {
    while (this.waiting.length > 0 && !this.closed && this.hasRoom()) this.start(this.waiting.shift()!);
  }

  private start(request: Message): void {
    this.inFlight++;
    this.serve(request, this.codec).then(
      (bytes) => this.finish(bytes),
      () => this.finish(undefined),
    );
  }

  private finish(bytes: Buffer | undefined): void {
    this.inFlight--;
    this.lastActive = performance.now();
    if (bytes !== undefined) this.write(bytes);
    this.pump();
    this.flow();
  }

  private write(bytes: Buffer): void {
    if (!this.closed && !this.socket.destroyed) this.socket.write(bytes);
  }

  /** Reads while there is room for more calls and the client takes its replies; pauses otherwise. */
  private flow(): void {
    if (this.closed) return;
    const full = this.waiting.length > 0 || !this.hasRoom();
    if (full && !this.paused) {
      this.paused = true;
      this.socket.pause();
    } else if (!full && this.paused) {
      this.paused = false;
      this.socket.resume();
    }
  }

  /** A request partly read starts the clock for the whole of it; a paused read does not count against the client. */
  private watchPartialRequest(): void {
    if (this.reader.buffered === 0) {
      this.requestStarted = undefined;
      return;
    }
    if (this.requestStarted === undefined) this.requestStarted = performance.now();
    if (this.requestTimer === undefined && Number.isFinite(this.limits.requestTimeoutMs)) {
      this.requestTimer = setTimeout(() => this.checkRequest(), this.limits.requestTimeoutMs);
      this.requestTimer.unref();
    }
  }

  private checkRequest(): void {
    this.requestTimer = undefined;
    const started = this.requestStarted;
    if (this.closed || started === undefined || this.reader.buffered === 0) return;
    const left = started + this.limits.requestTimeoutMs - performance.now();
    if (left > 0 || this.paused) {
      this.requestTimer = setTimeout(() => this.checkRequest(), Math.max(1, left > 0 ? left : this.limits.requestTimeoutMs));
      this.requestTimer.unref();
      return;
    }
    this.onLimit('request-timeout');
    this.hangUp(
      new MeshError(
        MeshErrorCode.TIMEOUT,
        `meta-mesh server: a request began ${Math.round(performance.now() - started)} ms ago and has not arrived whole (${this.reader.buffered} bytes so far; limit requestTimeoutMs ${this.limits.requestTimeoutMs}); closing the connection`,
      ),
    );
  }

  private armIdle(ms: number): void {
    if (!Number.isFinite(ms)) return;
    this.idleTimer = setTimeout(() => this.checkIdle(), Math.max(1, ms));
    this.idleTimer.unref();
  }

  private checkIdle(): void {
    this.idleTimer = undefined;
    if (this.closed) return;
    const left = this.lastActive + this.limits.idleTimeoutMs - performance.now();
    if (this.inFlight > 0 || this.waiting.length > 0 || this.reader.buffered > 0 || left > 0) {
      this.armIdle(left > 0 ? left : this.limits.idleTimeoutMs);
      return;
    }
    this.onLimit('idle');
    this.stop();
    this.socket.destroy();
  }

  /** Writes the error reply (when the client may read it), then closes. */
  private hangUp(error: MeshError): void {
    if (this.closed) return;
    this.closed = true;
    this.stop();
    this.reader.reset();
    if (!this.socket.destroyed) {
      this.socket.end(this.codec.encodeError(undefined, error));
      // Do not wait on a client that does not read: the socket goes when its last bytes are written, or now.
      setTimeout(() => this.socket.destroy(), 1000).unref();
    }
  }

  private stop(): void {
    this.closed = true;
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
    if (this.requestTimer !== undefined) clearTimeout(this.requestTimer);
    this.idleTimer = undefined;
    this.requestTimer = undefined;
    this.waiting.length = 0;
  }
}
