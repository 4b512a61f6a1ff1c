// HostConnections: what both connection models of an upstream host share:
// opening connections with the transport settings in force, counting them
// against the calling cluster's max_connections (as Envoy does, a host with
// no connection at all still gets one), and closing connections idle for
// longer than the cluster's idle timeout. One unref'd timer per host, armed
// only while some connection is idle.
import type { CodecFactory } from '../protocol/codec';
import type { ConnectionLimits } from './connection-limits';
import { UpstreamConnection } from './upstream-connection';
import type { UpstreamTransport } from './upstream-transport';

export interface HostTarget {
  readonly address: string;
  readonly port: number;
  readonly codecFactory: CodecFactory;
  /** The transport settings in force (read at each connect). */
  readonly currentTransport: UpstreamTransport;
}

/** Envoy's default idle timeout of upstream pool connections: one hour. */
export const DEFAULT_IDLE_TIMEOUT_MS = 3_600_000;

export abstract class HostConnections {
  protected readonly open = new Set<UpstreamConnection>();
  private readonly counted = new Map<UpstreamConnection, ConnectionLimits>();
  private readonly idleSince = new Map<UpstreamConnection, number>();
  private idleTimer: NodeJS.Timeout | undefined;
  /** Connections closed because they sat idle past the idle timeout. */
  idleClosed = 0;

  constructor(
    protected readonly target: HostTarget,
    /** False when each connection carries one call at a time: there is nothing to coalesce. */
    private readonly coalesceWrites = true,
  ) {}

  get endpoint(): string {
    return `${this.target.address}:${this.target.port}`;
  }

  /** Connections open or opening. */
  get size(): number {
    return this.open.size;
  }

  /** True when no connection is open or opening. */
  get isEmpty(): boolean {
    return this.open.size === 0;
  }

  /**
   * A new connection, counted against `limits` (Envoy max_connections). When
   * the limit is reached it returns undefined, unless this host has no
   * connection at all: then one is opened anyway, uncounted, so queued calls
   * always have a way out (Envoy does the same).
   */
  protected newConnection(limits: ConnectionLimits | undefined): UpstreamConnection | undefined {
    const counted = limits !== undefined && limits.tryAcquireConnection();
    if (limits !== undefined && !counted && this.open.size > 0) return undefined;
    const conn = new UpstreamConnection({
      ...this.target.currentTransport,
      address: this.target.address,
      port: this.target.port,
      codec: this.target.codecFactory.create(),
      coalesceWrites: this.coalesceWrites,
    });
    this.open.add(conn);
    if (counted) this.counted.set(conn, limits);
    conn.onClose = () => this.forget(conn);
    return conn;
  }

  /** Called once a connection has closed for any reason and left the set. */
  protected abstract onConnectionClosed(conn: UpstreamConnection): void;

  /** The connection carries no call: it closes if it stays so for the idle timeout. */
  protected markIdle(conn: UpstreamConnection): void {
    this.idleSince.set(conn, performance.now());
    if (this.idleTimer === undefined) this.armIdleTimer(this.idleTimeoutMs());
  }

  protected markBusy(conn: UpstreamConnection): void {
    this.idleSince.delete(conn);
  }

  /** Closes every connection now. */
  closeAll(): void {
    for (const conn of [...this.open]) conn.close();
    this.stopIdleTimer();
  }

  private forget(conn: UpstreamConnection): void {
    if (!this.open.delete(conn)) return;
    this.idleSince.delete(conn);
    const limits = this.counted.get(conn);
    if (limits !== undefined) {
      this.counted.delete(conn);
      limits.releaseConnection();
    }
    if (this.idleSince.size === 0) this.stopIdleTimer();
    this.onConnectionClosed(conn);
  }

  private idleTimeoutMs(): number {
    return this.target.currentTransport.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  }

  private armIdleTimer(ms: number): void {
    this.idleTimer = setTimeout(() => this.closeIdle(), Math.max(1, ms));
    this.idleTimer.unref();
  }

  private stopIdleTimer(): void {
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }

  private closeIdle(): void {
    this.idleTimer = undefined;
    const timeout = this.idleTimeoutMs();
    const now = performance.now();
    let next = Infinity;
    for (const [conn, since] of [...this.idleSince]) {
      const left = since + timeout - now;
      if (left <= 0) {
        this.idleClosed++;
        conn.close();
      } else {
        next = Math.min(next, left);
      }
    }
    if (next !== Infinity) this.armIdleTimer(next);
  }
}
