// Sends one client command to its backends: the first key picks the route
// (longest prefix), removePrefix rewrites keys, multi-key commands Envoy
// splits (MGET, MSET, DEL, EXISTS, UNLINK, TOUCH) are split per route and
// shard and their replies reassembled in order, and anything else whose keys
// do not all land on one route and shard is refused with an error naming the
// command and its keys. Faults, the op timeout and mirrors apply here too.
import { exists, getKeyIndexes, hasFlag } from '@ioredis/commands';
import { Command } from 'ioredis';
import type { RedisFault, RedisRoute } from '../../lib/config/redis-model';
import type { Mirror } from '../../lib/route/mirror';
import { stripPrefix } from './key-router';
import type { RedisBackend } from './redis-backend';
import type { RedisServiceView } from './redis-service-view';
import { replyError } from './reply-error';

type Arg = string | Buffer;

/** Where one key goes. */
export interface Placement {
  readonly route: RedisRoute;
  readonly backend: RedisBackend;
  readonly shard: number;
}

/** How a split command's parts are put back together. */
const SPLIT: Readonly<Record<string, 'values' | 'ok' | 'sum'>> = {
  mget: 'values',
  mset: 'ok',
  del: 'sum',
  exists: 'sum',
  unlink: 'sum',
  touch: 'sum',
};

export interface DispatchHooks {
  readonly mirror: Mirror;
  readonly mirrored: (cluster: string, dropped: boolean) => void;
  readonly random: () => number;
}

/** Lower-cased command name → key argument positions (from @ioredis/commands). */
export function keyIndexes(name: string, args: readonly Arg[]): number[] {
  // The common single-key commands skip the table walk.
  if (SINGLE_KEY.has(name)) return args.length > 0 ? FIRST : NONE;
  if (!exists(name)) return NONE;
  return getKeyIndexes(name, args as (string | Buffer)[]);
}

const FIRST = [0];
const NONE: number[] = [];
const SINGLE_KEY = new Set(['get', 'set', 'incr', 'decr', 'incrby', 'hget', 'hset', 'hgetall', 'expire', 'ttl', 'lpush', 'rpush', 'lpop', 'rpop', 'sadd', 'smembers', 'zadd', 'zrange', 'getset', 'setex', 'psetex', 'setnx', 'append', 'strlen', 'type', 'pexpire', 'pttl', 'hdel', 'hincrby', 'llen', 'lrange', 'scard', 'srem', 'zrem', 'zscore', 'zcard']);

export function keyString(arg: Arg): string {
  return typeof arg === 'string' ? arg : arg.toString();
}

export function isReadOnly(name: string): boolean {
  return exists(name) && hasFlag(name, 'readonly');
}

export function isBlocking(name: string, args: readonly Arg[]): boolean {
  if (!exists(name) || !hasFlag(name, 'blocking')) return false;
  // XREAD/XREADGROUP block only with BLOCK.
  if (name === 'xread' || name === 'xreadgroup') return args.some((a) => keyString(a).toUpperCase() === 'BLOCK');
  return true;
}

export class CommandDispatch {
  constructor(private readonly hooks: DispatchHooks) {}

  /** Routes and sends `command`; its promise settles with the reply or a ReplyError. */
  dispatch(view: RedisServiceView, command: Command): void {
    const fault = pickFault(view.policy.faults, command.name, this.hooks.random);
    if (fault === undefined) return this.route(view, command);
    const act = (): void => {
      if (fault.type === 'ERROR') command.reject(replyError('ERR Fault Injected: Error'));
      else this.route(view, command);
    };
    if (fault.delayMs > 0) setTimeout(act, fault.delayMs);
    else act();
  }

  /** MULTI, its commands and EXEC, all to one route and shard, or all refused. */
  dispatchTransaction(view: RedisServiceView, commands: readonly Command[]): void {
    const p = this.prepareTransaction(view, commands);
    if (p instanceof Error) return rejectAll(commands, p);
    p.backend.sendTransaction(commands, p.shard);
  }

  /** Where a MULTI ... EXEC goes (its keys rewritten for that route, the op timeout set), or the Error refusing it. */
  prepareTransaction(view: RedisServiceView, commands: readonly Command[]): Placement | Error {
    const inner = commands.slice(1, -1);
    const keys: Arg[] = [];
    for (const c of inner) {
      const args = c.args as Arg[];
      for (const i of keyIndexes(c.name, args)) keys.push(args[i]!);
    }
    const p = this.placeAll(view, 'MULTI', keys, 'a transaction runs on one server; split it or route its keys to one route (use a {hashtag} for a cluster)');
    if (p instanceof Error) return p;
    for (const c of inner) stripKeys(c, p.route);
    for (const c of commands) c.setTimeout(view.settings.opTimeoutMs);
    return p;
  }

  /**
   * The one route and shard every key goes to (the keyless route when there are none), or an
   * Error naming the command and where each key would go. `strip`: shard on the key as sent
   * (removePrefix applied); pub/sub channels are not keys and are never rewritten.
   */
  placeAll(view: RedisServiceView, command: string, keys: readonly Arg[], why: string, strip = true): Placement | Error {
    const places = this.placeEach(view, keys, strip);
    if (places instanceof Error) return places;
    const first = places[0] ?? this.keyless(view);
    if (first instanceof Error) return first;
    if (places.some((p) => !samePlace(p, first))) return crossError(command.toUpperCase(), keys, places, why);
    return first;
  }

  /** Where each key goes, or the Error for the first that goes nowhere. */
  placeEach(view: RedisServiceView, keys: readonly Arg[], strip = true): Placement[] | Error {
    const places: Placement[] = [];
    for (const k of keys) {
      const p = this.place(view, k, strip);
      if (p instanceof Error) return p;
      places.push(p);
    }
    return places;
  }

  private route(view: RedisServiceView, command: Command): void {
    const args = command.args as Arg[];
    const indexes = keyIndexes(command.name, args);
    command.setTimeout(view.settings.opTimeoutMs);
    if (indexes.length === 0) {
      const p = this.keyless(view);
      if (p instanceof Error) return void command.reject(p);
      this.send(view, p, command);
      return;
    }
    if (indexes.length === 1) {
      const p = this.place(view, args[indexes[0]!]!);
      if (p instanceof Error) return void command.reject(p);
      stripKeys(command, p.route, indexes);
      this.send(view, p, command);
      return;
    }
    const places: Placement[] = [];
    for (const i of indexes) {
      const p = this.place(view, args[i]!);
      if (p instanceof Error) return void command.reject(p);
      places.push(p);
    }
    const first = places[0]!;
    if (places.every((p) => samePlace(p, first))) {
      stripKeys(command, first.route, indexes);
      this.send(view, first, command);
      return;
    }
    const how = SPLIT[command.name];
    if (how === undefined) {
      const keys = indexes.map((i) => args[i]!);
      command.reject(crossError(command.name.toUpperCase(), keys, places, 'it cannot be split; route these keys to one route (use a {hashtag} for a cluster)'));
      return;
    }
    this.split(view, command, how, places);
  }

  /** One part per route and shard, in the order of first appearance; replies put back by key position. */
  private split(view: RedisServiceView, command: Command, how: 'values' | 'ok' | 'sum', places: readonly Placement[]): void {
    const timeoutMs = view.settings.opTimeoutMs;
    const args = command.args as Arg[];
    const step = command.name === 'mset' ? 2 : 1;
    const groups = new Map<string, { place: Placement; args: Arg[]; positions: number[] }>();
    for (let k = 0; k < places.length; k++) {
      const place = places[k]!;
      const id = `${place.route.target.cluster}#${place.shard}#${place.route.prefix ?? ''}`;
      let g = groups.get(id);
      if (g === undefined) {
        g = { place, args: [], positions: [] };
        groups.set(id, g);
      }
      g.args.push(stripPrefix(place.route, args[k * step]!));
      if (step === 2) g.args.push(args[k * step + 1]!);
      g.positions.push(k);
    }
    const parts: Promise<unknown>[] = [];
    for (const g of groups.values()) {
      const part = new Command(command.name, g.args, { replyEncoding: null });
      part.setTimeout(timeoutMs);
      this.send(view, g.place, part);
      parts.push(part.promise);
    }
    Promise.all(parts).then(
      (replies) => {
        if (how === 'ok') return void command.resolve(replies[0]);
        if (how === 'sum') return void command.resolve(replies.reduce((n: number, r) => n + Number(r), 0));
        const out = new Array<unknown>(places.length);
        let gi = 0;
        for (const g of groups.values()) {
          const values = replies[gi++] as unknown[];
          g.positions.forEach((pos, j) => (out[pos] = values[j]));
        }
        command.resolve(out);
      },
      (err: Error) => command.reject(err),
    );
  }

  private send(view: RedisServiceView, p: Placement, command: Command): void {
    if (p.route.mirrors.length > 0) this.mirror(view, p, command);
    p.backend.send(command, p.shard);
  }

  /** Copies a command to the route's mirrors, through the mesh's bounded mirror queue; never waits, never fails the call. */
  private mirror(view: RedisServiceView, p: Placement, command: Command): void {
    const readOnly = isReadOnly(command.name);
    for (const m of p.route.mirrors) {
      if (m.excludeReadCommands && readOnly) continue;
      if (m.fraction < 1 && this.hooks.random() >= m.fraction) continue;
      // Mirrors resolve in the same snapshot as the call.
      const backend = view.backend(m.target);
      if (backend instanceof Error) continue;
      const args = (command.args as Arg[]).slice();
      const name = command.name;
      const submitted = this.hooks.mirror.submit(() => {
        const copy = new Command(name, args, { replyEncoding: null });
        const keys = keyIndexes(name, args);
        backend.send(copy, keys.length === 0 ? -1 : backend.shardOf(keyString(args[keys[0]!]!)));
        return copy.promise;
      });
      this.hooks.mirrored(m.target.cluster, !submitted);
    }
  }

  /** Where a key goes in this view, or an Error saying why nowhere. */
  private place(view: RedisServiceView, key: Arg, strip = true): Placement | Error {
    const k = keyString(key);
    const route = view.router.route(k);
    if (route === undefined) {
      return replyError(`ERR meta-mesh: no route for key '${k}' in the RedisService of ${view.policy.host} (no prefix matches and there is no catch-all route)`);
    }
    const backend = view.backend(route.target);
    if (backend instanceof Error) return replyError(backend.message);
    const stripped = strip && route.removePrefix ? keyString(stripPrefix(route, k)) : k;
    return { route, backend, shard: backend.shardOf(stripped) };
  }

  keyless(view: RedisServiceView): Placement | Error {
    const route = view.router.keyless();
    if (route === undefined) {
      return replyError(`ERR meta-mesh: a command without keys has no route: the RedisService of ${view.policy.host} has several prefix routes and no catch-all`);
    }
    const backend = view.backend(route.target);
    if (backend instanceof Error) return replyError(backend.message);
    return { route, backend, shard: -1 };
  }
}

function samePlace(a: Placement, b: Placement): boolean {
  return a.route === b.route && a.backend === b.backend && a.shard === b.shard;
}

export function stripKeys(command: Command, route: RedisRoute, indexes?: readonly number[]): void {
  const args = command.args as Arg[];
  if (route.removePrefix && route.prefix !== undefined && route.prefix !== '') {
    for (const i of indexes ?? keyIndexes(command.name, args)) args[i] = stripPrefix(route, args[i]!);
  }
  // ioredis caches keys (and the slot) from the args it was built with.
  (command as unknown as { keys?: unknown; slot?: unknown }).keys = undefined;
  (command as unknown as { slot?: unknown }).slot = undefined;
}

function crossError(command: string, keys: readonly Arg[], places: readonly Placement[], why: string): Error {
  return replyError(`ERR meta-mesh: ${command} refused: its keys span routes or shards (${describePlaces(keys, places)}); ${why}`);
}

/** `'key' → host shard n, ...`, for errors that say where each key would go. */
export function describePlaces(keys: readonly Arg[], places: readonly Placement[]): string {
  return keys.map((k, i) => `'${keyString(k)}' → ${places[i]!.route.target.host}${places[i]!.shard >= 0 ? ` shard ${places[i]!.shard}` : ''}`).join(', ');
}

export function rejectAll(commands: readonly Command[], err: Error): void {
  for (const c of commands) c.reject(err);
}

function pickFault(faults: readonly RedisFault[], name: string, random: () => number): RedisFault | undefined {
  if (faults.length === 0) return undefined;
  for (const f of faults) {
    if (f.commands.length > 0 && !f.commands.includes(name)) continue;
    // The first fault naming the command decides (as Envoy's redis fault manager).
    return random() < f.fraction ? f : undefined;
  }
  return undefined;
}
