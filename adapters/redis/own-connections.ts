// OwnConnections: the connections one MeshRedis client needs for itself,
// because what runs on them holds the connection: a subscriber connection
// (pub/sub), connections for blocking commands (BLPOP, XREAD BLOCK, ...), the
// connection a WATCH ... EXEC runs on, and a MONITOR connection. Each goes to
// the one server its keys (or channels) agree on; when they do not agree the
// command fails with an error naming it and where each key would go. They
// count toward RedisDestination maxConnections and close with the client.
import { Redis, type Command } from 'ioredis';
import type { RedisAddress } from '../../lib/config/redis-model';
import { describePlaces, isBlocking, keyIndexes, keyString, rejectAll, stripKeys, type CommandDispatch, type Placement } from './command-dispatch';
import { blockingTimeoutMs } from './blocking-timeout';
import { connectionOptions, type RedisBackend } from './redis-backend';
import type { RedisServiceView } from './redis-service-view';
import { replyError } from './reply-error';

type Arg = string | Buffer;

/** Connections a client may hold of its own at once (blocking commands in flight, subscriber, WATCH). */
export const MAX_OWN_CONNECTIONS = 64;
/** Idle connections kept per server for the next blocking command. */
const IDLE_PER_SERVER = 2;

const MESSAGE_EVENTS = ['message', 'messageBuffer', 'pmessage', 'pmessageBuffer', 'smessage', 'smessageBuffer'] as const;

export interface ConnectionBudget {
  admit(host: string): boolean;
  release(host: string): void;
}

interface Held {
  readonly conn: Redis;
  readonly host: string;
  /** The server and credentials: connections with the same id are interchangeable. */
  readonly id: string;
}

interface Session {
  readonly place: Placement;
  readonly held: Promise<Held>;
}

export class OwnConnections {
  private subscriber: (Session & { readonly sharded: boolean }) | undefined;
  private watched: Session | undefined;
  private readonly idle = new Map<string, Held[]>();
  private readonly all = new Set<Held>();
  private closed = false;

  constructor(
    private readonly dispatch: CommandDispatch,
    private readonly budget: ConnectionBudget,
    private readonly emit: (event: string, ...args: unknown[]) => void,
  ) {}

  get watching(): boolean {
    return this.watched !== undefined;
  }

  /** Runs the commands that need a connection of their own; false for every other command. */
  handle(view: RedisServiceView, command: Command): boolean {
    const args = command.args as Arg[];
    switch (command.name) {
      case 'subscribe':
      case 'psubscribe':
      case 'ssubscribe':
        this.subscribe(view, command);
        return true;
      case 'unsubscribe':
      case 'punsubscribe':
      case 'sunsubscribe':
        this.unsubscribe(command);
        return true;
      case 'publish':
      case 'spublish':
        this.publish(view, command);
        return true;
      case 'watch':
        this.watch(view, command);
        return true;
      case 'unwatch':
        void this.unwatch(command).catch(() => undefined);
        return true;
      case 'monitor':
        command.reject(replyError('ERR meta-mesh: send MONITOR with client.monitor(), which opens a connection of its own to the one server of this service'));
        return true;
      case 'wait':
      case 'waitaof':
        command.reject(
          replyError(`ERR meta-mesh: ${command.name.toUpperCase()} refused: it waits for the writes of its own connection, and the mesh writes on connections shared by every client; put the writes and the WAIT in one client.multi()`),
        );
        return true;
      default:
        if (!isBlocking(command.name, args)) return false;
        this.blocking(view, command);
        return true;
    }
  }

  /** MULTI ... EXEC after a WATCH: on the WATCH connection, when its keys are on the watched server. */
  watchedTransaction(view: RedisServiceView, commands: readonly Command[]): void {
    const session = this.watched!;
    this.watched = undefined;
    const place = this.dispatch.prepareTransaction(view, commands);
    const keyless = !(place instanceof Error) && place.shard === -1 && commands.slice(1, -1).every((c) => keyIndexes(c.name, c.args as Arg[]).length === 0);
    let refusal: Error | undefined;
    if (place instanceof Error) refusal = place;
    else if (!keyless && !sameServer(place, session.place)) {
      refusal = replyError(
        `ERR meta-mesh: MULTI refused: its keys are on ${where(place)} but the keys it WATCHes are on ${where(session.place)}; a WATCH and its transaction run on one server`,
      );
    }
    session.held.then(
      (held) => {
        if (refusal !== undefined) {
          rejectAll(commands, refusal);
          this.reuseAfter(held, this.sendOn(held, 'unwatch', []));
          return;
        }
        for (const c of commands) held.conn.sendCommand(c);
        this.reuseAfter(held, commands[commands.length - 1]!.promise);
      },
      (err: Error) => rejectAll(commands, err),
    );
  }

  /** A connection of its own in monitor mode, when every command of this service goes to one server. */
  async monitor(view: RedisServiceView): Promise<Redis> {
    const servers = new Set<string>();
    let backend: RedisBackend | undefined;
    for (const route of view.router.all) {
      const b = view.backend(route.target);
      if (b instanceof Error) throw replyError(b.message);
      backend = b;
      if (b.spec.mode === 'CLUSTER') servers.add(`the Redis Cluster of ${b.spec.host}`).add(b.spec.cluster);
      else for (const e of b.spec.endpoints) servers.add(`${e.address}:${e.port}`);
    }
    if (backend === undefined || servers.size !== 1) {
      throw replyError(
        `ERR meta-mesh: MONITOR refused: the RedisService of ${view.policy.host} sends commands to ${servers.size === 0 ? 'no server' : [...servers].join(', ')}, and MONITOR watches one server; create the client for one route's host with one server (createRedisClient(mesh, host, port)) and monitor that`,
      );
    }
    const held = await this.open(backend, -1, true);
    const conn = held.conn;
    conn.on('monitor', (...args: unknown[]) => this.emit('monitor', ...args));
    await new Promise<void>((resolve, reject) => {
      conn.once('monitoring', resolve);
      conn.once('error', reject);
    });
    return conn;
  }

  /** Closes every connection of this client (a command still waiting on one fails with "Connection is closed."). */
  close(): void {
    this.closed = true;
    this.subscriber = undefined;
    this.watched = undefined;
    this.idle.clear();
    for (const held of [...this.all]) this.drop(held);
  }

  private subscribe(view: RedisServiceView, command: Command): void {
    const channels = command.args as Arg[];
    const sharded = command.name === 'ssubscribe';
    const place = this.channelPlace(view, command.name, channels, sharded);
    if (place instanceof Error) return void command.reject(place);
    const current = this.subscriber;
    if (current !== undefined && !sameSubscription(current.place, place, sharded)) {
      return void command.reject(
        replyError(`ERR meta-mesh: ${command.name.toUpperCase()} refused: this client's subscriptions are on ${where(current.place)} and ${channels.map((c) => `'${keyString(c)}'`).join(', ')} on ${where(place)}; use another client (client.duplicate()) for them`),
      );
    }
    command.setTimeout(view.settings.opTimeoutMs);
    const session = current ?? { place, sharded, held: this.open(place.backend, sharded || place.backend.spec.mode !== 'CLUSTER' ? place.shard : -1) };
    if (current === undefined) {
      this.subscriber = session;
      session.held.then(
        (held) => {
          for (const event of MESSAGE_EVENTS) held.conn.on(event, (...args: unknown[]) => this.emit(event, ...args));
        },
        () => {
          if (this.subscriber === session) this.subscriber = undefined;
        },
      );
    }
    this.sendWhenHeld(session.held, command);
  }

  private unsubscribe(command: Command): void {
    const session = this.subscriber;
    // Not subscribed: Redis answers with a count of 0 subscriptions.
    if (session === undefined) return void command.resolve(0);
    this.sendWhenHeld(session.held, command);
  }

  /** PUBLISH goes where SUBSCRIBE of the same channel went: the channel routes as a key, never rewritten. */
  private publish(view: RedisServiceView, command: Command): void {
    const channel = (command.args as Arg[])[0];
    const place = channel === undefined ? this.dispatch.keyless(view) : this.dispatch.placeAll(view, command.name, [channel], '', false);
    if (place instanceof Error) return void command.reject(place);
    command.setTimeout(view.settings.opTimeoutMs);
    place.backend.send(command, place.shard);
  }

  private watch(view: RedisServiceView, command: Command): void {
    const keys = command.args as Arg[];
    const place = this.dispatch.placeAll(view, 'WATCH', keys, 'a WATCH and its transaction run on one server; route these keys to one route (use a {hashtag} for a cluster)');
    if (place instanceof Error) return void command.reject(place);
    const current = this.watched;
    if (current !== undefined && !sameServer(current.place, place)) {
      return void command.reject(replyError(`ERR meta-mesh: WATCH refused: this client already WATCHes keys on ${where(current.place)}, and ${keys.map((k) => `'${keyString(k)}'`).join(', ')} are on ${where(place)}`));
    }
    stripKeys(command, place.route);
    command.setTimeout(view.settings.opTimeoutMs);
    const session = current ?? { place, held: this.take(place) };
    this.watched = session;
    this.sendWhenHeld(session.held, command);
  }

  /** Ends this client's WATCH (UNWATCH, or DISCARD of its transaction). */
  unwatch(command: Command): Promise<unknown> {
    const session = this.watched;
    this.watched = undefined;
    if (session === undefined) command.resolve(Buffer.from('OK'));
    else {
      this.sendWhenHeld(session.held, command);
      session.held.then((held) => this.reuseAfter(held, command.promise), () => undefined);
    }
    return command.promise;
  }

  private blocking(view: RedisServiceView, command: Command): void {
    const args = command.args as Arg[];
    const name = command.name.toUpperCase();
    const place = this.dispatch.placeAll(view, name, keyIndexes(command.name, args).map((i) => args[i]!), `${name} waits on one server; route these keys to one route (use a {hashtag} for a cluster)`);
    if (place instanceof Error) return void command.reject(place);
    stripKeys(command, place.route);
    // The caller chose how long to block; the mesh's deadline is that plus opTimeout (none for "forever").
    const block = blockingTimeoutMs(command.name, args);
    if (block !== 0) command.setTimeout((block ?? 0) + view.settings.opTimeoutMs);
    const held = this.take(place);
    this.sendWhenHeld(held, command);
    held.then((h) => this.reuseAfter(h, command.promise), () => undefined);
  }

  /** Where channels (or patterns) subscribe: one server for all of them. */
  private channelPlace(view: RedisServiceView, name: string, channels: readonly Arg[], sharded: boolean): Placement | Error {
    const upper = name.toUpperCase();
    if (channels.length === 0) return replyError(`ERR wrong number of arguments for '${name}' command`);
    const probes = name === 'psubscribe' ? patternProbes(view, channels) : channels;
    const places = this.dispatch.placeEach(view, probes, false);
    if (places instanceof Error) return places;
    const first = places[0]!;
    if (name === 'psubscribe' && first.backend.spec.mode === 'PROXY' && first.backend.spec.endpoints.length > 1) {
      return replyError(
        `ERR meta-mesh: PSUBSCRIBE refused: ${channels.map((c) => `'${keyString(c)}'`).join(', ')} would match channels that PUBLISH sends to any of the ${first.backend.spec.endpoints.length} servers of ${first.route.target.host} (sharded by channel); SUBSCRIBE to the channels by name`,
      );
    }
    if (places.some((p) => !sameSubscription(first, p, sharded))) {
      return replyError(`ERR meta-mesh: ${upper} refused: its channels span routes or shards (${describePlaces(probes, places)}); subscribe to them from separate clients (client.duplicate())`);
    }
    return first;
  }

  /** A connection to a placement's server: an idle one, or a new one. */
  private take(place: Placement): Promise<Held> {
    return place.backend.serverOf(place.shard).then((address) => {
      const id = serverId(place.backend, address);
      const idle = this.idle.get(id);
      const held = idle?.pop();
      if (held !== undefined) return held;
      return this.openAt(place.backend, address, false);
    });
  }

  private open(backend: RedisBackend, shard: number, monitor = false): Promise<Held> {
    return backend.serverOf(shard).then((address) => this.openAt(backend, address, monitor));
  }

  private openAt(backend: RedisBackend, address: RedisAddress, monitor: boolean): Held {
    const host = backend.spec.host;
    if (this.closed) throw new Error('Connection is closed.');
    if (this.all.size >= MAX_OWN_CONNECTIONS) {
      throw replyError(`ERR meta-mesh: this client already holds ${MAX_OWN_CONNECTIONS} connections of its own (blocking commands, subscriptions, WATCH); wait for some to finish or use another client`);
    }
    if (!this.budget.admit(host)) {
      throw replyError(`ERR meta-mesh: maxConnections of RedisDestination ${host} reached; raise trafficPolicy.connectionPool.tcp.maxConnections`);
    }
    const conn = new Redis({ host: address.host, port: address.port, ...connectionOptions(backend.spec), ...(monitor ? { monitor: true } : {}) });
    const held: Held = { conn, host, id: serverId(backend, address) };
    conn.on('error', () => undefined); // each command carries its own error
    conn.once('end', () => this.forget(held));
    this.all.add(held);
    return held;
  }

  private sendWhenHeld(held: Promise<Held>, command: Command): void {
    held.then(
      (h) => void h.conn.sendCommand(command),
      (err: Error) => command.reject(err),
    );
  }

  private sendOn(held: Held, name: string, args: Arg[]): Promise<unknown> {
    return held.conn.call(name, ...args).catch(() => undefined);
  }

  /** After `done`, the connection goes back to the idle pool, unless the command failed without a reply (it may still be blocked). */
  private reuseAfter(held: Held, done: Promise<unknown>): void {
    done.then(
      () => this.reuse(held),
      (err: Error) => (err.name === 'ReplyError' ? this.reuse(held) : this.drop(held)),
    );
  }

  private reuse(held: Held): void {
    if (this.closed || !this.all.has(held) || held.conn.status !== 'ready') return this.drop(held);
    let idle = this.idle.get(held.id);
    if (idle === undefined) this.idle.set(held.id, (idle = []));
    if (idle.length >= IDLE_PER_SERVER) return this.drop(held);
    idle.push(held);
  }

  private drop(held: Held): void {
    held.conn.disconnect();
    this.forget(held);
  }

  private forget(held: Held): void {
    if (!this.all.delete(held)) return;
    this.budget.release(held.host);
    const idle = this.idle.get(held.id);
    const at = idle?.indexOf(held) ?? -1;
    if (at >= 0) idle!.splice(at, 1);
  }
}

function sameServer(a: Placement, b: Placement): boolean {
  return a.backend === b.backend && a.shard === b.shard;
}

/** Plain pub/sub in a Redis Cluster is cluster-wide: any node hears every PUBLISH. */
function sameSubscription(a: Placement, b: Placement, sharded: boolean): boolean {
  if (a.backend !== b.backend) return false;
  return a.backend.spec.mode === 'CLUSTER' && !sharded ? true : a.shard === b.shard;
}

function serverId(backend: RedisBackend, address: RedisAddress): string {
  return `${address.host}:${address.port}#${backend.spec.key}`;
}

function where(p: Placement): string {
  return `${p.route.target.host}${p.shard >= 0 ? ` shard ${p.shard}` : ''}`;
}

/**
 * The keys a pattern's channels could route as: its literal head (before the first glob
 * character) and every longer route prefix starting with that head, whose keys it may match too.
 */
function patternProbes(view: RedisServiceView, patterns: readonly Arg[]): string[] {
  const probes: string[] = [];
  for (const p of patterns) {
    const text = keyString(p);
    const glob = text.search(/[*?[\\]/);
    const head = glob < 0 ? text : text.slice(0, glob);
    probes.push(head);
    if (glob < 0) continue;
    for (const r of view.router.all) if (r.prefix !== undefined && r.prefix.length > head.length && r.prefix.startsWith(head)) probes.push(r.prefix);
  }
  return probes;
}
