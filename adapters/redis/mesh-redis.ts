// MeshRedis: what createRedisClient returns. It is an ioredis `Redis` (every
// command method with promises and callbacks, pipeline(), multi(), eval,
// evalsha, defineCommand, events) that opens no socket of its own: every
// command goes through sendCommand, where the mesh routes it by key to the
// backends the config names. Replies and errors are ioredis' own.
import { Command, Redis, type RedisOptions } from 'ioredis';
import type { Mesh } from '../../lib/mesh';
import type { RedisCredentials } from '../../lib/config/redis-model';
import { CommandDispatch, keyString } from './command-dispatch';
import { OwnConnections } from './own-connections';
import { RedisBackends } from './redis-backends';
import type { RedisServiceView } from './redis-service-view';
import { replyError } from './reply-error';
import { RedisTelemetry } from './redis-telemetry';

/** Replication handshakes: a replica talks to its master directly, never through a client. */
const REFUSED = new Set(['sync', 'psync']);

type PipelineStream = object;

interface Transaction {
  readonly stream: PipelineStream;
  readonly commands: Command[];
}

export type MeshRedisOptions = Omit<RedisOptions, 'host' | 'port' | 'path' | 'replyMapping'>;

export class MeshRedis extends Redis {
  private readonly backends: RedisBackends;
  private readonly dispatcher: CommandDispatch;
  private readonly telemetry: RedisTelemetry | undefined;
  /** Pub/sub, blocking commands, WATCH and MONITOR: connections of this client's own. */
  private readonly own: OwnConnections;
  private transaction: Transaction | undefined;
  private authenticated = false;
  private clientName: string | undefined;
  private viewFor: { snapshot: unknown; view: RedisServiceView | Error } | undefined;
  private readonly stats = new Map<string, { total: number; errors: number }>();

  constructor(
    private readonly mesh: Mesh,
    readonly serviceHost: string,
    readonly servicePort: number,
    private readonly meshOptions: MeshRedisOptions = {},
  ) {
    // lazyConnect: the facade itself never connects; connect() below only walks the status to ready.
    super({ ...meshOptions, host: serviceHost, port: servicePort, lazyConnect: true, enableAutoPipelining: false } as RedisOptions & { replyMapping?: "legacy" });
    this.backends = RedisBackends.of(mesh);
    const mirror = mesh.mirrorQueue;
    this.dispatcher = new CommandDispatch({
      mirror,
      mirrored: (cluster, dropped) => mesh.metrics.mirrored(cluster, dropped),
      random: Math.random,
    });
    this.telemetry = RedisTelemetry.of(mesh);
    this.own = new OwnConnections(this.dispatcher, this.backends, (event, ...args) => this.emit(event, ...args));
    if (meshOptions.lazyConnect !== true) process.nextTick(() => void this.connect().catch(() => undefined));
  }

  /** Walks the status to ready (checking the client's own password, if it gave one). */
  override connect(callback?: (err?: Error | null) => void): Promise<void> {
    const done = (err?: Error): Promise<void> => {
      callback?.(err ?? null);
      return err === undefined ? Promise.resolve() : Promise.reject(err);
    };
    if (this.status === 'ready' || this.status === 'connect' || this.status === 'connecting') return done();
    if (this.status === 'end') return done(new Error('Connection is closed.'));
    this.setStatusOf('connecting');
    this.setStatusOf('connect');
    const password = this.meshOptions.password;
    if (password !== undefined && password !== '') {
      const view = this.view();
      const required = view instanceof Error ? undefined : view.settings.auth;
      if (required === undefined) {
        this.log(`meta-mesh: a password was given to the Redis client of ${this.serviceHost}:${this.servicePort}, but its RedisService sets no settings.auth; the mesh authenticates to Redis itself`);
      } else if (!sameCredentials(required, this.meshOptions.username, password)) {
        const err = replyError('WRONGPASS invalid username-password pair or user is disabled.');
        this.silentEmit('error', err);
        return done(err);
      } else this.authenticated = true;
    }
    this.setStatusOf('ready');
    return done();
  }

  /** Closes this client; the mesh keeps its shared backend connections until it closes. */
  override disconnect(): void {
    this.closeClient();
  }

  /** Another client of the same service through the same mesh (never a direct connection). */
  override duplicate<Override extends Partial<RedisOptions> | undefined = undefined>(override?: Override): Redis {
    return new MeshRedis(this.mesh, this.serviceHost, this.servicePort, { ...this.meshOptions, ...(override as MeshRedisOptions | undefined) });
  }

  /** Per-command totals and errors when the RedisService sets settings.enableCommandStats. */
  commandStats(): Record<string, { total: number; errors: number }> {
    return Object.fromEntries(this.stats);
  }

  override sendCommand(command: Command, stream?: PipelineStream): unknown {
    if (this.status === 'end') {
      command.reject(new Error('Connection is closed.'));
      return command.promise;
    }
    const name = command.name;
    const txn = this.transaction;
    if (txn !== undefined && stream !== undefined && txn.stream === stream) {
      txn.commands.push(command);
      if (name === 'exec' || name === 'discard') {
        this.transaction = undefined;
        this.runTransaction(txn.commands, name === 'discard');
      }
      return command.promise;
    }
    if (name === 'multi') {
      if (stream === undefined) {
        command.reject(replyError("ERR meta-mesh: MULTI outside a pipeline is not supported (the mesh shares connections); use client.multi().…exec()"));
      } else this.transaction = { stream, commands: [command] };
      return command.promise;
    }
    if (this.local(command)) return command.promise;
    const view = this.view();
    if (view instanceof Error) {
      command.reject(replyError(view.message));
      return command.promise;
    }
    if (view.settings.auth !== undefined && !this.authenticated) {
      command.reject(replyError('NOAUTH Authentication required.'));
      return command.promise;
    }
    if (REFUSED.has(name)) {
      command.reject(replyError(`ERR meta-mesh: ${name.toUpperCase()} is replication between servers; it is not served through the mesh`));
      return command.promise;
    }
    if (this.telemetry !== undefined) this.telemetry.observe(command, view, this.serviceHost, this.servicePort);
    if (view.settings.enableCommandStats) this.count(command);
    if (this.own.handle(view, command)) return command.promise;
    this.dispatcher.dispatch(view, command);
    return command.promise;
  }

  private runTransaction(commands: Command[], discard: boolean): void {
    if (discard) {
      // DISCARD also ends a WATCH, as in Redis.
      if (this.own.watching) void this.own.unwatch(new Command('unwatch', [])).catch(() => undefined);
      for (const c of commands) c.resolve(Buffer.from('OK'));
      return;
    }
    const view = this.view();
    const err = view instanceof Error ? replyError(view.message) : view.settings.auth !== undefined && !this.authenticated ? replyError('NOAUTH Authentication required.') : undefined;
    if (err !== undefined || view instanceof Error) {
      for (const c of commands) c.reject(err!);
      return;
    }
    if (this.own.watching) this.own.watchedTransaction(view, commands);
    else this.dispatcher.dispatchTransaction(view, commands);
  }

  /**
   * MONITOR on a connection of its own, resolved with a client that emits 'monitor' events (as
   * ioredis' monitor()); refused unless every command of this service goes to one server.
   */
  override monitor(callback?: (err?: Error | null, result?: Redis) => void): Promise<Redis> {
    const started = this.startMonitor();
    if (callback !== undefined) started.then((m) => callback(null, m), (err: Error) => callback(err));
    return started;
  }

  private async startMonitor(): Promise<Redis> {
    const view = this.view();
    if (view instanceof Error) throw replyError(view.message);
    if (view.settings.auth !== undefined && !this.authenticated) throw replyError('NOAUTH Authentication required.');
    const monitor = new MeshRedis(this.mesh, this.serviceHost, this.servicePort, { ...this.meshOptions, lazyConnect: true });
    await monitor.connect();
    try {
      await monitor.own.monitor(view);
    } catch (err) {
      monitor.disconnect();
      throw err;
    }
    monitor.setStatusOf('monitoring');
    return monitor;
  }

  /** Commands the client answers itself: AUTH, PING, SELECT 0, QUIT, CLIENT SETNAME/GETNAME. */
  private local(command: Command): boolean {
    const args = command.args as (string | Buffer)[];
    switch (command.name) {
      case 'quit':
        command.resolve(Buffer.from('OK'));
        this.closeClient();
        return true;
      case 'ping':
        command.resolve(args.length > 0 ? args[0] : Buffer.from('PONG'));
        return true;
      case 'auth':
        this.checkAuth(command, args);
        return true;
      case 'select':
        if (keyString(args[0] ?? '0') === '0') command.resolve(Buffer.from('OK'));
        else command.reject(replyError('ERR meta-mesh: only database 0 can be selected through the mesh (Redis Cluster has only database 0)'));
        return true;
      case 'client': {
        const sub = keyString(args[0] ?? '').toLowerCase();
        if (sub === 'setname') {
          this.clientName = keyString(args[1] ?? '');
          command.resolve(Buffer.from('OK'));
          return true;
        }
        if (sub === 'getname') {
          command.resolve(this.clientName === undefined ? null : Buffer.from(this.clientName));
          return true;
        }
        if (sub === 'setinfo') {
          command.resolve(Buffer.from('OK'));
          return true;
        }
        return false;
      }
      default:
        return false;
    }
  }

  /** The client's own AUTH, checked against RedisService settings.auth (Envoy's downstream auth). */
  private checkAuth(command: Command, args: readonly (string | Buffer)[]): void {
    const view = this.view();
    const required = view instanceof Error ? undefined : view.settings.auth;
    if (required === undefined) {
      command.reject(replyError('ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?'));
      return;
    }
    const [user, pass] = args.length >= 2 ? [keyString(args[0]!), keyString(args[1]!)] : [undefined, keyString(args[0] ?? '')];
    if (sameCredentials(required, user, pass)) {
      this.authenticated = true;
      command.resolve(Buffer.from('OK'));
    } else command.reject(replyError('WRONGPASS invalid username-password pair or user is disabled.'));
  }

  /** The view of this service under the config in force; one identity check per command. */
  private view(): RedisServiceView | Error {
    const snapshot = this.mesh.snapshot;
    const cached = this.viewFor;
    if (cached !== undefined && cached.snapshot === snapshot) return cached.view;
    const view = this.backends.view(snapshot, this.serviceHost, this.servicePort);
    this.viewFor = { snapshot, view };
    return view;
  }

  private count(command: Command): void {
    let s = this.stats.get(command.name);
    if (s === undefined) {
      s = { total: 0, errors: 0 };
      this.stats.set(command.name, s);
    }
    s.total++;
    const stats = s;
    command.promise.catch(() => stats.errors++);
  }

  private closeClient(): void {
    if (this.status === 'end') return;
    const txn = this.transaction;
    this.transaction = undefined;
    if (txn !== undefined) for (const c of txn.commands) c.reject(new Error('Connection is closed.'));
    this.own.close();
    this.setStatusOf('close');
    this.setStatusOf('end');
  }

  private setStatusOf(status: string): void {
    (this as unknown as { setStatus(s: string): void }).setStatus(status);
  }

  private log(message: string): void {
    (this.mesh.options.logger ?? console.warn)(message);
  }
}

function sameCredentials(required: RedisCredentials, username: string | undefined, password: string): boolean {
  const wantUser = required.username ?? 'default';
  const user = username === undefined || username === '' ? 'default' : username;
  return user === wantUser && password === required.password;
}
