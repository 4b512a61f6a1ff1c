// The backends a Redis route sends to. PROXY: the ServiceEntry's endpoints are
// independent servers, one ioredis connection each, a key's server picked as
// Envoy's redis_proxy picks it (maglev over MurmurHash2-64 of the key or its
// {hashtag}), so every process, sidecars included, agrees, during ejections
// too: the table is then the one over the available servers (all of them in
// panic), built by the cluster balancers' own machinery. CLUSTER: one
// ioredis Cluster (slot map from the discovery endpoints, MOVED/ASK, topology
// refresh, reads to replicas by readPolicy). Both authenticate with the
// RedisDestination's credentials (AutoAuth).
import calculateSlot from 'cluster-key-slot';
import { Cluster, Command, Redis } from 'ioredis';
import type { Endpoint, LbOptions, OutlierDetectionConfig } from '../../lib/config/model';
import type { RedisAddress, RedisCredentials, RedisReadPolicy } from '../../lib/config/redis-model';
import type { LoadBalancer } from '../../lib/cluster/lb/load-balancer';
import { LocalityAware } from '../../lib/cluster/lb/locality-aware';
import { Maglev } from '../../lib/cluster/lb/maglev';
import { murmurHash2_64, murmurHash2_64Mod } from './murmur-hash2';
import { OutlierDetector } from '../../lib/cluster/outlier-detector';
import { BatchWriter } from './batch-writer';
import { replyError } from './reply-error';

export interface BackendSpec {
  /** Identity: two specs with the same key share one backend. */
  readonly key: string;
  readonly mode: 'PROXY' | 'CLUSTER';
  /** Destination host (counts toward its maxConnections). */
  readonly host: string;
  readonly cluster: string;
  /** PROXY: the servers (with their EDS health and weight); CLUSTER: the seeds. */
  readonly endpoints: readonly BackendEndpoint[];
  /** PROXY: the cluster's panic threshold and maglev table size. */
  readonly lb?: Pick<LbOptions, 'healthyPanicThreshold' | 'maglev'>;
  readonly auth?: RedisCredentials;
  readonly connectTimeoutMs?: number;
  readonly readPolicy: RedisReadPolicy;
  readonly enableHashtagging: boolean;
  /** PROXY: follow MOVED/ASK (CLUSTER: ioredis always does). */
  readonly enableRedirection: boolean;
  readonly maxUpstreamUnknownConnections: number;
  readonly maxBufferSizeBeforeFlush: number;
  readonly bufferFlushTimeoutMs: number;
  readonly outlierDetection?: OutlierDetectionConfig;
}

export interface BackendEndpoint {
  readonly address: string;
  readonly port: number;
  /** Maglev weight (default 1). */
  readonly weight?: number;
  /** false: unhealthy by EDS, left out of the table unless the cluster is in panic. */
  readonly healthy?: boolean;
}

export interface RedisBackend {
  readonly spec: BackendSpec;
  /** The shard a key lives on: endpoint index (PROXY) or hash slot (CLUSTER). */
  shardOf(key: string): number;
  /** Sends one command to a shard (-1: any, for keyless commands). */
  send(command: Command, shard: number): void;
  /** Sends MULTI ... EXEC back to back on the shard's one (master) connection. */
  sendTransaction(commands: readonly Command[], shard: number): void;
  /** The server a shard lives on (CLUSTER: the slot's master; -1: any), for a connection of its own. */
  serverOf(shard: number): Promise<RedisAddress>;
  /** Connections this backend holds open. */
  readonly connections: number;
  close(): Promise<void>;
}

/** How long QUIT may wait for replies still due before the socket is cut. */
const QUIT_GRACE_MS = 2000;

/** QUIT (replies still due arrive first), bounded: a frozen server must not hold a close forever. */
async function closeGracefully(client: Redis | Cluster): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const grace = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, QUIT_GRACE_MS);
    timer.unref();
  });
  await Promise.race([client.quit().catch(() => undefined), grace]);
  clearTimeout(timer);
  client.disconnect();
}

/** Options both kinds of ioredis connection get (and connections of a client's own). */
export function connectionOptions(spec: BackendSpec) {
  return {
    ...(spec.auth === undefined ? {} : { password: spec.auth.password, ...(spec.auth.username ? { username: spec.auth.username } : {}) }),
    ...(spec.connectTimeoutMs === undefined ? {} : { connectTimeout: spec.connectTimeoutMs }),
    enableAutoPipelining: false,
    // Debian's 7.0 has no CLIENT SETINFO; the name shows in CLIENT LIST instead.
    connectionName: 'meta-mesh',
  };
}

/** The part of a key Redis Cluster hashes: the first non-empty {tag}, else the key. */
export function hashtagOf(key: string): string {
  const open = key.indexOf('{');
  if (open < 0) return key;
  const close = key.indexOf('}', open + 1);
  if (close <= open + 1) return key;
  return key.slice(open + 1, close);
}

export class ProxyBackend implements RedisBackend {
  private readonly conns: (Redis | undefined)[];
  private readonly writers: (BatchWriter | undefined)[];
  /** Maglev over every server, in endpoint order: the table while every server is available. */
  private readonly maglev: Maglev;
  /** The cluster balancer's machinery (panic threshold, table rebuilt over the available servers on a change of health). */
  private readonly balancer: LoadBalancer;
  private readonly allHealthy: boolean;
  private readonly outliers: OutlierDetector | undefined;
  private readonly pick: { hashKey: bigint; availabilityVersion: number; isAvailable?: (i: number) => boolean };
  private open = 0;
  private next = 0;
  /** Connections to servers redirections named that are not endpoints. */
  private readonly unknown = new Map<string, { readonly conn: Redis; readonly writer: BatchWriter }>();

  constructor(
    readonly spec: BackendSpec,
    private readonly admit: (host: string) => boolean,
    private readonly release: (host: string) => void,
  ) {
    const n = spec.endpoints.length;
    this.conns = new Array<Redis | undefined>(n).fill(undefined);
    this.writers = new Array<BatchWriter | undefined>(n).fill(undefined);
    const endpoints: Endpoint[] = spec.endpoints.map((e) => ({
      address: e.address,
      port: e.port,
      labels: {},
      weight: e.weight ?? 1,
      ...(e.healthy === false ? { healthy: false } : {}),
    }));
    const lb = spec.lb ?? {};
    // As Cluster builds a MAGLEV balancer: priority/panic handling around maglev tables that are
    // rebuilt over the available hosts (and cached) when their health changes, as Envoy's thread-aware balancer does.
    let whole: Maglev | undefined;
    this.balancer = LocalityAware.wrap(endpoints, lb, (group) => {
      const m = new Maglev(group, lb);
      if (group.length === endpoints.length && group.every((e, i) => e === endpoints[i])) whole = m;
      return m;
    });
    this.maglev = whole ?? new Maglev(endpoints, lb);
    this.allHealthy = endpoints.every((e) => e.healthy !== false);
    this.outliers = spec.outlierDetection === undefined ? undefined : new OutlierDetector(n, spec.outlierDetection);
    this.pick = { hashKey: 0n, availabilityVersion: 0, ...(this.outliers === undefined ? {} : { isAvailable: this.outliers.isAvailable }) };
  }

  /** Maglev tables built over the available servers so far (one per change of health, not per key). */
  get tableRebuilds(): number {
    return this.maglev.rebuilds;
  }

  get connections(): number {
    return this.open;
  }

  /** The shard a key's server is, or the shard count (no server: every one is ejected or unhealthy, out of panic). */
  shardOf(key: string): number {
    const n = this.conns.length;
    // Envoy's redis_proxy: MurmurHash2-64 (std::hash) of the key or its {hashtag}, into the cluster's maglev table.
    const hashed = this.spec.enableHashtagging ? hashtagOf(key) : key;
    const outliers = this.outliers;
    if (this.allHealthy && (outliers === undefined || outliers.ejectedCount === 0)) {
      if (n <= 1) return 0;
      const table = this.maglev.table;
      return table[murmurHash2_64Mod(hashed, table.length)]!;
    }
    // A server is out: Envoy's table over the available servers (over all of them in panic), rebuilt once per change.
    const pick = this.pick;
    pick.hashKey = murmurHash2_64(hashed);
    if (outliers !== undefined) pick.availabilityVersion = outliers.availabilityVersion;
    const host = this.balancer.pick(pick);
    return host < 0 ? n : host;
  }

  send(command: Command, shard: number): void {
    const index = shard >= 0 ? shard : this.keylessShard();
    if (this.spec.enableRedirection) this.sendFollowing(command, index);
    else this.sendAt(index, command);
  }

  private sendAt(index: number, command: Command): void {
    const writer = this.writer(index, command);
    if (writer === undefined) return;
    if (this.outliers !== undefined) this.watch(command, index);
    writer.send(command);
  }

  /** Sends a copy; a MOVED or ASK reply sends it once more, to the server it names (Envoy's enable_redirection). */
  private sendFollowing(command: Command, index: number): void {
    const first = copyOf(command);
    this.sendAt(index, first);
    first.promise.then(
      (reply) => command.resolve(reply),
      (err: Error) => {
        const to = redirectionOf(err);
        if (to === undefined) return void command.reject(err);
        const writer = this.redirectWriter(to, command, err);
        if (writer === undefined) return;
        if (to.ask) {
          const asking = new Command('asking', [], { replyEncoding: null });
          asking.promise.catch(() => undefined); // the command after it carries any failure
          writer.send(asking);
        }
        const again = copyOf(command);
        writer.send(again);
        again.promise.then(
          (reply) => command.resolve(reply),
          (e: Error) => command.reject(e),
        );
      },
    );
  }

  /** The writer to a server a redirection names: an endpoint's, or one of at most maxUpstreamUnknownConnections others. */
  private redirectWriter(to: Redirection, command: Command, err: Error): BatchWriter | undefined {
    const index = this.spec.endpoints.findIndex((e) => e.address === to.host && e.port === to.port);
    if (index >= 0) return this.writer(index, command);
    const key = `${to.host}:${to.port}`;
    const known = this.unknown.get(key);
    if (known !== undefined) return known.writer;
    const limit = this.spec.maxUpstreamUnknownConnections;
    if (this.unknown.size >= limit) {
      command.reject(replyError(`${err.message} (meta-mesh did not follow it: ${limit} connections to servers outside the endpoints of ${this.spec.cluster} are open, the RedisService's settings.maxUpstreamUnknownConnections)`));
      return undefined;
    }
    const conn = new Redis({ host: to.host, port: to.port, ...connectionOptions(this.spec) });
    conn.on('error', () => undefined); // each command carries its own error
    const writer = new BatchWriter(conn, this.spec.maxBufferSizeBeforeFlush, this.spec.bufferFlushTimeoutMs);
    this.unknown.set(key, { conn, writer });
    return writer;
  }

  sendTransaction(commands: readonly Command[], shard: number): void {
    const index = shard >= 0 ? shard : this.keylessShard();
    const writer = this.writer(index, commands[0]!);
    if (writer === undefined) {
      for (const c of commands.slice(1)) c.reject(new Error('transaction not sent'));
      return;
    }
    for (const c of commands) writer.send(c);
  }

  serverOf(shard: number): Promise<RedisAddress> {
    const endpoint = this.spec.endpoints[shard >= 0 ? shard : this.keylessShard()];
    if (endpoint === undefined) return Promise.reject(this.noServer());
    return Promise.resolve({ host: endpoint.address, port: endpoint.port });
  }

  async close(): Promise<void> {
    const conns = this.conns.filter((c): c is Redis => c !== undefined);
    this.conns.fill(undefined);
    this.writers.fill(undefined);
    for (let i = 0; i < conns.length; i++) this.release(this.spec.host);
    this.open = 0;
    for (const u of this.unknown.values()) conns.push(u.conn);
    this.unknown.clear();
    await Promise.allSettled(conns.map(closeGracefully));
  }

  /** Envoy's "no upstream host": no endpoint at all, or none available out of panic. */
  private noServer(): Error {
    if (this.spec.endpoints.length === 0) return replyError(`ERR meta-mesh: cluster ${this.spec.cluster} has no endpoint; declare endpoints in its ServiceEntry`);
    const ejected = this.outliers?.ejectedCount ?? 0;
    const unhealthy = this.spec.endpoints.filter((e) => e.healthy === false).length;
    return replyError(
      `ERR meta-mesh: no upstream host: none of the ${this.spec.endpoints.length} servers of cluster ${this.spec.cluster} is available (${ejected} ejected by outlier detection, ${unhealthy} unhealthy)`,
    );
  }

  /** Keyless commands take turns over the servers not ejected nor unhealthy. */
  private keylessShard(): number {
    const n = this.conns.length;
    for (let i = 0; i < n; i++) {
      const index = this.next++ % n;
      if (this.spec.endpoints[index]?.healthy === false) continue;
      if (this.outliers === undefined || !this.outliers.isEjected(index)) return index;
    }
    return this.next % n;
  }

  private writer(index: number, command: Command): BatchWriter | undefined {
    let writer = this.writers[index];
    if (writer !== undefined) return writer;
    const endpoint = this.spec.endpoints[index];
    if (endpoint === undefined) {
      command.reject(this.noServer());
      return undefined;
    }
    if (!this.admit(this.spec.host)) {
      command.reject(replyError(`ERR meta-mesh: maxConnections of RedisDestination ${this.spec.host} reached; raise trafficPolicy.connectionPool.tcp.maxConnections`));
      return undefined;
    }
    const conn = new Redis({ host: endpoint.address, port: endpoint.port, ...connectionOptions(this.spec) });
    conn.on('error', () => undefined); // each command carries its own error
    this.conns[index] = conn;
    this.open++;
    writer = new BatchWriter(conn, this.spec.maxBufferSizeBeforeFlush, this.spec.bufferFlushTimeoutMs);
    this.writers[index] = writer;
    return writer;
  }

  /** Connection-level failures count against the server (outlier detection); error replies do not. */
  private watch(command: Command, index: number): void {
    const outliers = this.outliers!;
    command.promise.then(
      () => outliers.report(index, 'success'),
      (err: Error) => {
        if (err.name === 'ReplyError') outliers.report(index, 'success');
        else outliers.report(index, /timed out/i.test(err.message) ? 'timeout' : 'reset');
      },
    );
  }
}

interface Redirection {
  readonly ask: boolean;
  readonly host: string;
  readonly port: number;
}

/** `MOVED <slot> <host>:<port>` or `ASK <slot> <host>:<port>`, else undefined. */
function redirectionOf(err: Error): Redirection | undefined {
  if (err.name !== 'ReplyError') return undefined;
  const m = /^(MOVED|ASK) \d+ (.+):(\d+)$/.exec(err.message);
  if (m === null) return undefined;
  return { ask: m[1] === 'ASK', host: m[2]!.replace(/^\[|\]$/g, ''), port: Number(m[3]) };
}

/** A copy of a command answering in Buffers, whose reply the caller's command then converts as it would its own. */
function copyOf(command: Command): Command {
  return new Command(command.name, command.args, { replyEncoding: null });
}

/** Connection states of a node ioredis has lost (it is reconnecting or gave up). */
const LOST = new Set(['reconnecting', 'close', 'end']);

/**
 * PREFER_MASTER (as Envoy): reads go to the slot's master, and to a replica while the master
 * is unavailable (its connection lost, before a failover promotes another).
 */
export function preferMaster(nodes: readonly (Redis | undefined)[]): Redis | undefined {
  const master = nodes[0];
  if (master !== undefined && !LOST.has(master.status)) return master;
  // undefined: ioredis falls back to the master's entry.
  return nodes.slice(1).find((n) => n !== undefined && !LOST.has(n.status)) ?? master;
}

const SCALE_READS: Readonly<Record<RedisReadPolicy, 'master' | 'slave' | 'all' | typeof preferMaster>> = {
  MASTER: 'master',
  PREFER_MASTER: preferMaster,
  REPLICA: 'slave',
  PREFER_REPLICA: 'slave',
  ANY: 'all',
};

interface ClusterInternals {
  slots: string[][];
  connectionPool: { getInstanceByKey(key: string): Redis | undefined };
}

export class ClusterBackend implements RedisBackend {
  private readonly client: Cluster;
  private closed = false;

  constructor(
    readonly spec: BackendSpec,
    private readonly release: (host: string) => void,
  ) {
    const opts = connectionOptions(spec);
    this.client = new Cluster(
      spec.endpoints.map((e) => ({ host: e.address, port: e.port })),
      {
        scaleReads: SCALE_READS[spec.readPolicy],
        redisOptions: opts,
        enableAutoPipelining: false,
        // Follow a failover quickly: refresh the slot map often and retry while the cluster is down.
        slotsRefreshInterval: 1000,
        retryDelayOnFailover: 100,
        retryDelayOnClusterDown: 100,
        retryDelayOnTryAgain: 100,
        maxRedirections: 32,
      },
    );
    this.client.on('error', () => undefined);
  }

  get connections(): number {
    return this.closed ? 0 : 1;
  }

  shardOf(key: string): number {
    return calculateSlot(key);
  }

  send(command: Command): void {
    this.client.sendCommand(command);
  }

  sendTransaction(commands: readonly Command[], shard: number): void {
    this.whenReady((err) => {
      const master = err ?? this.master(shard);
      if (master instanceof Error) for (const c of commands) c.reject(master);
      else for (const c of commands) master.sendCommand(c);
    });
  }

  serverOf(shard: number): Promise<RedisAddress> {
    return new Promise((resolve, reject) => {
      this.whenReady((err) => {
        const master = err ?? this.master(shard);
        if (master instanceof Error) return reject(master);
        const options = master.options;
        resolve({ host: options.host ?? '127.0.0.1', port: options.port ?? 6379 });
      });
    });
  }

  /** The master connection of a slot (-1: slot 0's), or an Error when the slot map has none. */
  private master(shard: number): Redis | Error {
    const internals = this.client as unknown as ClusterInternals;
    const slot = shard >= 0 ? shard : 0;
    const masterKey = internals.slots[slot]?.[0];
    const master = masterKey === undefined ? undefined : internals.connectionPool.getInstanceByKey(masterKey);
    return master ?? replyError(`CLUSTERDOWN meta-mesh: no master known for slot ${slot} of ${this.spec.cluster}`);
  }

  private whenReady(go: (err: Error | undefined) => void): void {
    if (this.client.status === 'ready') go(undefined);
    else this.client.delayUntilReady((err) => go(err ?? undefined));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.release(this.spec.host);
    await closeGracefully(this.client);
  }
}
