// UpstreamHost: everything meta-mesh keeps for one endpoint and protocol: its
// multiplexed connections, replaced when they close, and a connect backoff so
// a dead endpoint is not hammered with a new socket per call.
import type { CodecFactory, EncodeOptions } from '../protocol/codec';
import type { Message } from '../protocol/message';
import { MeshError, MeshErrorCode } from '../protocol/mesh-error';
import type { UpstreamTransport } from './upstream-transport';
import { UpstreamConnection } from './upstream-connection';

export interface UpstreamHostOptions {
  readonly address: string;
  readonly port: number;
  readonly codecFactory: CodecFactory;
  /** Transport settings for the first connects; `useTransport` replaces them when a new snapshot names this host. */
  readonly transport: UpstreamTransport;
  /** Sockets per endpoint; calls spread over them round robin. */
  readonly connections: number;
}

/** Identifies a host: calls share its sockets only with calls of one protocol variant to one endpoint. */
export function upstreamHostKey(codecFactory: CodecFactory, address: string, port: number): string {
  return `${codecFactory.protocol}/${codecFactory.variant ?? ''}|${address}:${port}`;
}

const BACKOFF_BASE_MS = 50;
const BACKOFF_MAX_MS = 5_000;

export class UpstreamHost {
  private readonly slots: (UpstreamConnection | undefined)[];
  private cursor = 0;
  private failures = 0;
  private retryAt = 0;
  private lastConnectError: MeshError | undefined;
  private closed = false;
  private retired = false;
  private warmRequested = false;
  /** Calls sent and not yet settled, across all connections. */
  active = 0;
  /** When this host first joined the mesh (performance.now()), for slow start. */
  readonly addedAt = performance.now();
  private transport: UpstreamTransport;

  constructor(readonly options: UpstreamHostOptions) {
    this.slots = new Array(Math.max(1, options.connections)).fill(undefined);
    this.transport = options.transport;
  }

  /**
   * The transport settings (connect timeout, TLS) of the snapshot in force:
   * every later connect uses them; connections already open keep theirs.
   */
  useTransport(transport: UpstreamTransport): void {
    if (sameTransport(this.transport, transport)) return;
    this.transport = transport;
    // New settings may well connect where the old ones failed: try them at once, not after the backoff.
    this.failures = 0;
    this.retryAt = 0;
  }

  /** The transport settings the next connect uses. */
  get currentTransport(): UpstreamTransport {
    return this.transport;
  }

  get key(): string {
    return upstreamHostKey(this.options.codecFactory, this.options.address, this.options.port);
  }

  get endpoint(): string {
    return `${this.options.address}:${this.options.port}`;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** True when a connection is open, so a call goes out at once instead of waiting on a connect. */
  get isReady(): boolean {
    return this.slots.some((c) => c !== undefined && c.isReady);
  }

  /** True once a preconnect was asked for, so it is asked for only once. */
  get isWarm(): boolean {
    return this.warmRequested;
  }

  markWarm(): void {
    this.warmRequested = true;
  }

  /** Opens the connections ahead of the first call (used by the preconnect pacer). */
  async warm(): Promise<void> {
    if (this.closed) return;
    await Promise.all(this.slots.map((_, i) => this.slot(i).connect().catch(() => undefined)));
  }

  send(request: Message, options: EncodeOptions | undefined, timeoutMs: number, expectReply: boolean): Promise<Message | undefined> {
    if (this.closed) {
      return Promise.reject(new MeshError(MeshErrorCode.CLOSED, `endpoint ${this.endpoint} was removed from the mesh`, { details: { endpoint: this.endpoint } }));
    }
    if (this.failures > 0 && performance.now() < this.retryAt && this.lastConnectError !== undefined) {
      return Promise.reject(this.lastConnectError);
    }
    const conn = this.slot(this.cursor);
    this.cursor = (this.cursor + 1) % this.slots.length;
    this.active++;
    return conn.send(request, options, timeoutMs, expectReply).then(
      (reply) => {
        this.settled();
        this.failures = 0;
        return reply;
      },
      (err: MeshError) => {
        this.settled();
        if (err.code === MeshErrorCode.CONNECT_FAILURE) this.noteConnectFailure(err);
        throw err;
      },
    );
  }

  /**
   * The endpoint left the config. Its connections close as soon as they are
   * idle, but calls that picked it on an older snapshot are still sent: the
   * endpoint itself is usually alive, and a config change must not fail calls.
   */
  retire(): void {
    this.retired = true;
    if (this.active === 0) for (const conn of this.slots) conn?.drain();
  }

  /** The endpoint came back into the config before its host was gone. */
  revive(): void {
    this.retired = false;
  }

  get isRetired(): boolean {
    return this.retired;
  }

  /** True once retired and every connection has closed. */
  get isGone(): boolean {
    return (this.retired || this.closed) && this.slots.every((c) => c === undefined || c.isClosed);
  }

  /** Closes now, failing calls in flight. */
  close(): void {
    this.closed = true;
    for (const conn of this.slots) conn?.close();
  }

  /** Calls in flight on connections still open (a draining host reaches 0, then is gone). */
  get inFlight(): number {
    let n = 0;
    for (const conn of this.slots) if (conn !== undefined && !conn.isClosed) n += conn.inFlight;
    return n;
  }

  private settled(): void {
    this.active--;
    if (this.retired && this.active === 0) for (const conn of this.slots) conn?.drain();
  }

  private slot(i: number): UpstreamConnection {
    let conn = this.slots[i];
    if (conn === undefined || conn.isClosed) {
      conn = new UpstreamConnection({
        ...this.transport,
        address: this.options.address,
        port: this.options.port,
        codec: this.options.codecFactory.create(),
      });
      this.slots[i] = conn;
    }
    return conn;
  }

  private noteConnectFailure(err: MeshError): void {
    this.failures++;
    this.lastConnectError = err;
    const backoff = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.min(this.failures - 1, 10));
    this.retryAt = performance.now() + backoff;
  }
}

function sameTransport(a: UpstreamTransport, b: UpstreamTransport): boolean {
  if (a === b) return true;
  const keys = Object.keys(a) as (keyof UpstreamTransport)[];
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}
