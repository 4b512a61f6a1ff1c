// MultiplexedPool: the multiplexed connection model, for protocols whose
// replies carry the request id (Dubbo; MetaProtocol Proxy's
// `multiplexing: true`). Calls share a few sockets (connectionsPerEndpoint),
// spread round robin; each socket counts once against the cluster's
// max_connections, and at that limit calls share the sockets already open.
// Calls waiting for a socket to connect are the cluster's pending requests.
import type { EncodeOptions } from '../protocol/codec';
import type { Message } from '../protocol/message';
import type { MeshError } from '../protocol/mesh-error';
import type { SendContext } from './connection-limits';
import { HostConnections, type HostTarget } from './host-connections';
import type { UpstreamConnection } from './upstream-connection';

export class MultiplexedPool extends HostConnections {
  private readonly slots: (UpstreamConnection | undefined)[];
  private cursor = 0;
  private draining = false;

  constructor(target: HostTarget, connections: number) {
    super(target);
    this.slots = new Array(Math.max(1, connections)).fill(undefined);
  }

  /** True when a connection is open, so a call goes out at once instead of waiting on a connect. */
  get isReady(): boolean {
    return this.slots.some((c) => c !== undefined && c.isReady);
  }

  /** Calls written and awaiting a reply, over every socket. */
  get inFlight(): number {
    let n = 0;
    for (const conn of this.open) n += conn.inFlight;
    return n;
  }

  async warm(): Promise<void> {
    await Promise.all(this.slots.map((_, i) => this.slot(i, undefined)?.connect().catch(() => undefined)));
  }

  send(request: Message, options: EncodeOptions | undefined, timeoutMs: number, expectReply: boolean, ctx: SendContext): Promise<Message | undefined> {
    const conn = this.pick(ctx);
    const limits = ctx.limits;
    // Not connected yet: the call is pending until the socket is (Envoy's pending requests).
    const pending = !conn.isReady && limits !== undefined;
    if (pending && !limits.tryAcquirePending()) return Promise.reject(limits.overflowError('pending'));
    this.markBusy(conn);
    const sent = conn.send(request, options, timeoutMs, expectReply, ctx);
    if (pending) void conn.connect().then(() => limits.releasePending(), () => limits.releasePending());
    return sent.then(
      (reply) => {
        this.settled(conn);
        return reply;
      },
      (err: MeshError) => {
        this.settled(conn);
        throw err;
      },
    );
  }

  /** Closes each connection once its calls are answered. */
  drain(): void {
    this.draining = true;
    for (const conn of this.open) conn.drain();
  }

  /** The endpoint is back in the config: connections are kept again. */
  resume(): void {
    this.draining = false;
  }

  close(): void {
    this.draining = true;
    this.closeAll();
  }

  protected onConnectionClosed(conn: UpstreamConnection): void {
    const i = this.slots.indexOf(conn);
    if (i >= 0) this.slots[i] = undefined;
  }

  private settled(conn: UpstreamConnection): void {
    if (conn.isClosed || conn.inFlight > 0) return;
    if (this.draining) conn.drain();
    else this.markIdle(conn);
  }

  /** The next socket round robin; at max_connections, the next one already open. */
  private pick(ctx: SendContext): UpstreamConnection {
    for (let n = 0; n < this.slots.length; n++) {
      const i = this.cursor;
      this.cursor = (this.cursor + 1) % this.slots.length;
      const conn = this.slot(i, ctx);
      if (conn !== undefined) return conn;
    }
    // Every empty slot was refused a connection, so some slot holds one (a host with none always gets one).
    return this.slots.find((c) => c !== undefined)!;
  }

  private slot(i: number, ctx: SendContext | undefined): UpstreamConnection | undefined {
    const conn = this.slots[i];
    if (conn !== undefined && !conn.isClosed) return conn;
    const opened = this.newConnection(ctx?.limits);
    this.slots[i] = opened;
    return opened;
  }
}
