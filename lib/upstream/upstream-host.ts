// UpstreamHost: everything meta-mesh keeps for one endpoint and protocol: its
// connections, in one of two models (exclusive: one call in flight per
// connection, pooled; multiplexed: calls share a few sockets by request id),
// and a connect backoff so a dead endpoint is not hammered with a new socket
// per call.
//
// A host costs little until its first call or warm-up: a cluster makes a host
// for every endpoint when a protocol first calls it (100k endpoints, 100k
// hosts), and most are never connected. Its pool (sets, maps, timers) and its
// connect backoff are made on first use; the host itself is the pool's target
// (address, port, codec, transport in force), so no closure per host.
import type { CodecFactory, EncodeOptions } from '../protocol/codec';
import type { Message } from '../protocol/message';
import { Backoff } from '../protocol/backoff';
import { MeshError, MeshErrorCode } from '../protocol/mesh-error';
import type { SendContext } from './connection-limits';
import { ExclusivePool } from './exclusive-pool';
import type { HostTarget } from './host-connections';
import { MultiplexedPool } from './multiplexed-pool';
import type { UpstreamTransport } from './upstream-transport';

export interface UpstreamHostOptions {
  readonly address: string;
  readonly port: number;
  readonly codecFactory: CodecFactory;
  /** Transport settings for the first connects; `useTransport` replaces them when a new snapshot names this host. */
  readonly transport: UpstreamTransport;
  /** Sockets per endpoint in the multiplexed model; calls spread over them round robin. */
  readonly connections: number;
  /**
   * true: calls share sockets, matched by request id. false (default): one
   * call in flight per connection, connections pooled (MetaProtocol Proxy's default).
   */
  readonly multiplexing?: boolean | undefined;
}

/** Identifies a host: calls share its sockets only with calls of one protocol variant and connection model to one endpoint. */
export function upstreamHostKey(codecFactory: CodecFactory, address: string, port: number, multiplexing = false): string {
  return `${connectionModel(codecFactory, multiplexing)}|${address}:${port}`;
}

/** The hosts of one protocol variant, connection model and port: with the address, a host's identity (UpstreamPool keys no string per host). */
export function upstreamHostGroup(codecFactory: CodecFactory, port: number, multiplexing: boolean): string {
  return `${connectionModel(codecFactory, multiplexing)}|${port}`;
}

function connectionModel(codecFactory: CodecFactory, multiplexing: boolean): string {
  return `${codecFactory.protocol}/${codecFactory.variant ?? ''}/${multiplexing ? 'mux' : 'one'}`;
}

/** Connect failures back off 50 ms, 100 ms, ... up to 5 s, so a dead endpoint is not hammered. */
const CONNECT_BACKOFF = { initialMs: 50, multiplier: 2, maxMs: 5_000, jitter: 0 } as const;
const NO_CONTEXT: SendContext = {};

/** A host's connect failures in a row: calls fail fast with the last error until `retryAt`. */
interface ConnectFailures {
  readonly backoff: Backoff;
  retryAt: number;
  error: MeshError;
}

export class UpstreamHost implements HostTarget {
  /** Made on the first call or warm-up (see the top of the file). */
  private pool: ExclusivePool | MultiplexedPool | undefined;
  /** Since the last connect failure, until a call succeeds or the transport changes; made on the first failure. */
  private failing: ConnectFailures | undefined;
  private closed = false;
  private retired = false;
  private warmRequested = false;
  private transport: UpstreamTransport;
  /** Calls sent and not yet settled, across all connections (queued ones included). */
  active = 0;
  /** When this host first joined the mesh (performance.now()), for slow start. */
  readonly addedAt = performance.now();

  readonly address: string;
  readonly port: number;
  readonly codecFactory: CodecFactory;
  readonly multiplexing: boolean;
  /** Sockets per endpoint in the multiplexed model. */
  private readonly connectionsPerEndpoint: number;

  // The options' fields are the host's own, so a host is one object, not two.
  constructor(options: UpstreamHostOptions) {
    this.address = options.address;
    this.port = options.port;
    this.codecFactory = options.codecFactory;
    this.transport = options.transport;
    this.connectionsPerEndpoint = options.connections;
    this.multiplexing = options.multiplexing === true;
  }

  /** The options this host was made with, its transport the one in force. */
  get options(): UpstreamHostOptions {
    return { address: this.address, port: this.port, codecFactory: this.codecFactory, transport: this.transport, connections: this.connectionsPerEndpoint, multiplexing: this.multiplexing };
  }

  /** True once the host's connection state exists (a call, or a warm-up, was made). */
  get hasConnectionState(): boolean {
    return this.pool !== undefined;
  }

  /** The host's connections, made on first use in the state the host's life so far left them in. */
  private connections(): ExclusivePool | MultiplexedPool {
    let pool = this.pool;
    if (pool === undefined) {
      pool = this.multiplexing ? new MultiplexedPool(this, this.connectionsPerEndpoint) : new ExclusivePool(this);
      // Without a pool, no call was ever in flight: retire() would have drained it at once.
      if (this.retired) pool.drain();
      this.pool = pool;
    }
    return pool;
  }

  /**
   * The transport settings (connect timeout, idle timeout, TLS) of the
   * snapshot in force: every later connect uses them; connections already
   * open keep theirs.
   */
  useTransport(transport: UpstreamTransport): void {
    if (sameTransport(this.transport, transport)) return;
    this.transport = transport;
    // New settings may well connect where the old ones failed: try them at once, not after the backoff.
    this.failing = undefined;
  }

  /** The transport settings the next connect uses. */
  get currentTransport(): UpstreamTransport {
    return this.transport;
  }

  get key(): string {
    return upstreamHostKey(this.codecFactory, this.address, this.port, this.multiplexing);
  }

  get endpoint(): string {
    return `${this.address}:${this.port}`;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** True when a call would go out at once instead of waiting on a connect or a free connection. */
  get isReady(): boolean {
    return this.pool?.isReady ?? false;
  }

  /** Connections open or opening. */
  get connectionCount(): number {
    return this.pool?.size ?? 0;
  }

  /** Connections closed after sitting idle past the idle timeout. */
  get idleClosed(): number {
    return this.pool?.idleClosed ?? 0;
  }

  /** True once a preconnect was asked for, so it is asked for only once. */
  get isWarm(): boolean {
    return this.warmRequested;
  }

  markWarm(): void {
    this.warmRequested = true;
  }

  /** Opens connections ahead of the first call (used by the preconnect pacer). */
  async warm(): Promise<void> {
    if (this.closed || this.retired) return;
    await this.connections().warm();
  }

  send(request: Message, options: EncodeOptions | undefined, timeoutMs: number, expectReply: boolean, ctx: SendContext = NO_CONTEXT): Promise<Message | undefined> {
    if (this.closed) {
      return Promise.reject(new MeshError(MeshErrorCode.CLOSED, `endpoint ${this.endpoint} was removed from the mesh`, { details: { endpoint: this.endpoint } }));
    }
    const failing = this.failing;
    if (failing !== undefined && performance.now() < failing.retryAt) {
      return Promise.reject(failing.error);
    }
    this.active++;
    return this.connections().send(request, options, timeoutMs, expectReply, ctx).then(
      (reply) => {
        this.settled();
        // The endpoint answers: the next failure backs off from the first delay again.
        if (this.failing !== undefined) this.failing = undefined;
        return reply;
      },
      (err: MeshError) => {
        this.settled();
        if (err instanceof MeshError && err.code === MeshErrorCode.CONNECT_FAILURE) this.noteConnectFailure(err);
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
    if (this.active === 0) this.pool?.drain();
  }

  /** The endpoint came back into the config before its host was gone. */
  revive(): void {
    this.retired = false;
    this.pool?.resume();
  }

  get isRetired(): boolean {
    return this.retired;
  }

  /** True once retired and every connection has closed. */
  get isGone(): boolean {
    return (this.retired || this.closed) && (this.pool?.isEmpty ?? true);
  }

  /** Closes now, failing calls in flight. */
  close(): void {
    this.closed = true;
    this.pool?.close();
  }

  /** Calls sent and not settled (a draining host reaches 0, then is gone). */
  get inFlight(): number {
    return this.active;
  }

  private settled(): void {
    this.active--;
    if (this.retired && this.active === 0) this.pool?.drain();
  }

  private noteConnectFailure(err: MeshError): void {
    const failing = (this.failing ??= { backoff: new Backoff(CONNECT_BACKOFF), retryAt: 0, error: err });
    failing.error = err;
    failing.retryAt = performance.now() + failing.backoff.next();
  }
}

function sameTransport(a: UpstreamTransport, b: UpstreamTransport): boolean {
  if (a === b) return true;
  const keys = Object.keys(a) as (keyof UpstreamTransport)[];
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}
