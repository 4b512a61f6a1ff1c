// ExclusivePool: the non-multiplexed connection model (MetaProtocol Proxy's
// default, `multiplexing: false`). Each call in flight has a connection to
// itself; connections are pooled and reused, so a server that answers one
// call at a time per connection (Python TThreadedServer, Java
// TThreadPoolServer) still runs calls in parallel. New connections are capped
// by the cluster's max_connections; past it, calls wait for a free connection
// as pending requests (max_pending_requests, then OVERFLOW), and leave the
// queue at once when their deadline passes or their signal aborts.
import type { EncodeOptions } from '../protocol/codec';
import type { Message } from '../protocol/message';
import { MeshError, MeshErrorCode } from '../protocol/mesh-error';
import { deadlineCovers, type ConnectionLimits, type SendContext } from './connection-limits';
import { HostConnections, type HostTarget } from './host-connections';
import type { UpstreamConnection } from './upstream-connection';

interface Waiter {
  readonly limits: ConnectionLimits | undefined;
  give(conn: UpstreamConnection): void;
  fail(error: MeshError): void;
}

export class ExclusivePool extends HostConnections {
  constructor(target: HostTarget) {
    super(target, false);
  }

  /** Connected and carrying no call, most recently used last. */
  private readonly idle: UpstreamConnection[] = [];
  private readonly waiters: Waiter[] = [];
  private connecting = 0;
  private draining = false;

  /** True when a call would go out at once, on a connected idle connection. */
  get isReady(): boolean {
    return this.idle.length > 0;
  }

  /** Calls waiting for a connection. */
  get queued(): number {
    return this.waiters.length;
  }

  /** Opens one connection ahead of the first call. */
  async warm(): Promise<void> {
    if (this.size > 0 || this.draining) return;
    const conn = this.newConnection(undefined)!;
    this.connecting++;
    try {
      await conn.connect();
    } catch {
      return;
    } finally {
      this.connecting--;
    }
    this.release(conn);
  }

  send(request: Message, options: EncodeOptions | undefined, timeoutMs: number, expectReply: boolean, ctx: SendContext): Promise<Message | undefined> {
    const conn = this.idle.pop();
    if (conn !== undefined) {
      this.markBusy(conn);
      return this.dispatch(conn, request, options, timeoutMs, expectReply, ctx);
    }
    const limits = ctx.limits;
    if (limits !== undefined && !limits.tryAcquirePending()) return Promise.reject(limits.overflowError('pending'));
    const started = performance.now();
    return new Promise<UpstreamConnection>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      let unwatch: (() => void) | undefined;
      const deadline = ctx.deadline;
      const signal = deadline === undefined ? ctx.signal : undefined;
      const leave = (): void => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        settle();
      };
      const onAbort = (): void => {
        leave();
        reject(MeshError.from(signal!.reason, MeshErrorCode.CLOSED));
      };
      const settle = (): void => {
        limits?.releasePending();
        if (timer !== undefined) clearTimeout(timer);
        unwatch?.();
        signal?.removeEventListener('abort', onAbort);
      };
      const waiter: Waiter = {
        limits,
        give: (c) => {
          settle();
          resolve(c);
        },
        fail: (e) => {
          settle();
          reject(e);
        },
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      const noConnection = (): void => {
        leave();
        reject(
          new MeshError(MeshErrorCode.TIMEOUT, `no connection to ${this.endpoint} became free within ${timeoutMs} ms (${this.size} open, all busy)`, {
            details: { endpoint: this.endpoint },
          }),
        );
      };
      if (deadline !== undefined && deadlineCovers(deadline, timeoutMs, started)) {
        // The call's own deadline ends the wait: no timer of our own.
        unwatch = deadline.onAbort((reason) => {
          if (reason.code === MeshErrorCode.TIMEOUT) return noConnection();
          leave();
          reject(reason);
        });
      } else {
        if (deadline !== undefined) {
          unwatch = deadline.onAbort((reason) => {
            leave();
            reject(reason);
          });
        }
        if (timeoutMs > 0 && Number.isFinite(timeoutMs)) timer = setTimeout(noConnection, timeoutMs);
      }
      this.waiters.push(waiter);
      this.openForWaiters();
    }).then((c) => this.dispatch(c, request, options, Math.max(1, timeoutMs - (performance.now() - started)), expectReply, ctx));
  }

  /** Closes idle connections now and the others once their call is done. */
  drain(): void {
    this.draining = true;
    for (const conn of this.idle.splice(0)) conn.close();
  }

  get isDrained(): boolean {
    return this.isEmpty;
  }

  /** The endpoint is back in the config: connections are kept again. */
  resume(): void {
    this.draining = false;
  }

  close(): void {
    this.draining = true;
    this.idle.length = 0;
    const error = new MeshError(MeshErrorCode.CLOSED, `endpoint ${this.endpoint} was closed by meta-mesh`, { details: { endpoint: this.endpoint } });
    for (const w of this.waiters.splice(0)) w.fail(error);
    this.closeAll();
  }

  protected onConnectionClosed(conn: UpstreamConnection): void {
    const i = this.idle.indexOf(conn);
    if (i >= 0) this.idle.splice(i, 1);
    // Its slot under max_connections is free again: a waiting call may get a new connection.
    this.openForWaiters();
  }

  private dispatch(
    conn: UpstreamConnection,
    request: Message,
    options: EncodeOptions | undefined,
    timeoutMs: number,
    expectReply: boolean,
    ctx: SendContext,
  ): Promise<Message | undefined> {
    return conn.send(request, options, timeoutMs, expectReply, ctx).then(
      (reply) => {
        this.release(conn);
        return reply;
      },
      (err: MeshError) => {
        // A call that timed out (or was cut short by mesh.close()) may still be answered on this connection: it can carry no other call.
        if (err.code === MeshErrorCode.TIMEOUT || err.code === MeshErrorCode.CLOSED) conn.close();
        else this.release(conn);
        throw err;
      },
    );
  }

  /** A connection finished its call (or connected): the next waiter takes it, else it waits idle. */
  private release(conn: UpstreamConnection): void {
    if (conn.isClosed) return;
    const waiter = this.waiters.shift();
    if (waiter !== undefined) return waiter.give(conn);
    if (this.draining) return conn.close();
    this.idle.push(conn);
    this.markIdle(conn);
  }

  /**
   * Opens connections for waiters that no connection being opened will serve, as far as max_connections allows.
   * Also while draining: a call picked on an older snapshot, before the endpoint left the config, is served on a
   * connection opened for it, which closes once the call is done (release); it used to wait until its timeout.
   */
  private openForWaiters(): void {
    while (this.waiters.length > this.connecting) {
      const waiter = this.waiters[this.connecting]!;
      const conn = this.newConnection(waiter.limits);
      // At max_connections: the waiters take connections as calls finish.
      if (conn === undefined) return;
      this.connecting++;
      conn.connect().then(
        () => {
          this.connecting--;
          this.markBusy(conn);
          this.release(conn);
        },
        (err: MeshError) => {
          this.connecting--;
          // Nothing else can serve the waiters: they fail with the connect error (the caller may retry elsewhere).
          if (this.size === 0) for (const w of this.waiters.splice(0)) w.fail(err);
          else this.waiters.shift()?.fail(err);
        },
      );
    }
  }
}
