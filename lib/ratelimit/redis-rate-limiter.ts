// RedisRateLimiter: global limits kept in Redis by the GCRA script, with the
// limits written in envoyproxy/ratelimit's config format, so no rate limit
// service has to run. Each limited descriptor is one key (hash-tagged, so a
// Redis Cluster never sees CROSSSLOT) and one atomic round trip. Around Redis:
// a per-call deadline that a stall of our own event loop cannot trip, a
// breaker that answers at once while Redis keeps failing, a local cache of
// refusals (exact under GCRA) and an optional quota lease that takes a batch
// of tokens per round trip.
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { MeshError, MeshErrorCode } from '../protocol/mesh-error';
import { performance } from 'node:perf_hooks';
import { ErrorRateBreaker } from '../cluster/error-rate-breaker';
import { GCRA_SCRIPT } from './gcra-script';
import type { GlobalRateLimiter, GlobalRateLimiterStats, RateLimitDescriptor } from './global-rate-limiter';
import { RateLimitRules, type RateLimitDomainConfig, type RateLimitRule } from './rate-limit-rules';
import { monotonicClock, type MonotonicClock } from './token-bucket';

export interface RedisRateLimiterOptions {
  /** Connection options, or a client to copy: the limiter always opens a connection of its own. */
  readonly redis: RedisOptions | Redis | Cluster;
  /** The limits, in envoyproxy/ratelimit's config format. */
  readonly rules: RateLimitRules | RateLimitDomainConfig | readonly RateLimitDomainConfig[];
  /** Deadline of each Redis call in ms (default 20). */
  readonly requestTimeoutMs?: number | undefined;
  /** Refuse calls when Redis fails or times out (default false: allow). */
  readonly denyOnFail?: boolean | undefined;
  /**
   * The breaker in front of Redis (the mesh's one breaker, ErrorRateBreaker, on its
   * consecutive-failures rule): after `failureThreshold` failures in a row
   * (default 3) calls are answered at once without Redis for `coolDownMs`
   * (default 1000), then one trial call closes or reopens it.
   */
  readonly breaker?: { readonly failureThreshold?: number | undefined; readonly coolDownMs?: number | undefined } | undefined;
  /**
   * Take `size` tokens per round trip and spend them locally; unspent tokens
   * are dropped after `maxAgeMs` (default 1000) so a quiet process does not
   * sit on quota others could use. Off by default: every call asks Redis.
   */
  readonly lease?: { readonly size: number; readonly maxAgeMs?: number | undefined } | undefined;
  /** Prefix of every key (default "rl"). */
  readonly keyPrefix?: string | undefined;
  /** Times cached refusals and leases (the breaker's cool-down is opossum's own timer). */
  readonly clock?: MonotonicClock | undefined;
}

export interface RedisRateLimiterStats extends GlobalRateLimiterStats {
  /** Round trips to Redis. */
  redisCalls: number;
  /** Calls answered by a cached refusal or a leased token, without Redis. */
  answeredLocally: number;
  /** Calls answered without Redis because the breaker was open. */
  skipped: number;
}

type GcraCommand = (key: string, intervalMs: string, capacityMs: string, want: number, need: number) => Promise<[number, number]>;

/** What this process knows about one key between round trips. */
interface KeyState {
  deniedUntil: number;
  leased: number;
  leaseExpires: number;
  refill: Promise<unknown> | undefined;
}

/** Every failure of a Redis call counts against Redis (a timeout included). */
const countsAgainstRedis = (): boolean => true;

/** Past this many keys, states that hold nothing are dropped (bounded memory for per-user keys). */
const MAX_KEY_STATES = 10_000;

export class RedisRateLimiter implements GlobalRateLimiter {
  readonly rules: RateLimitRules;
  private readonly client: Redis | Cluster;
  private readonly gcra: GcraCommand;
  private readonly breaker: ErrorRateBreaker;
  private readonly clock: MonotonicClock;
  private readonly denyOnFail: boolean;
  private readonly leaseSize: number;
  private readonly leaseMaxAgeMs: number;
  private readonly prefix: string;
  private readonly keys = new Map<string, KeyState>();
  private readonly counters = { ok: 0, overLimit: 0, failed: 0, redisCalls: 0, answeredLocally: 0 };
  private closed = false;
  private readonly timeoutMs: number;
  /** The last Redis connection error, for diagnostics. */
  lastError: Error | undefined;

  constructor(options: RedisRateLimiterOptions) {
    this.rules = options.rules instanceof RateLimitRules ? options.rules : new RateLimitRules(options.rules as RateLimitDomainConfig[]);
    const timeout = options.requestTimeoutMs ?? 20;
    if (!Number.isFinite(timeout) || timeout <= 0) {
      throw new MeshError(MeshErrorCode.CONFIG, `rate limit requestTimeout is ${timeout} ms; set a positive duration such as 20ms`);
    }
    const lease = options.lease;
    if (lease !== undefined && (!Number.isSafeInteger(lease.size) || lease.size < 1)) {
      throw new MeshError(MeshErrorCode.CONFIG, `rate limit lease size is ${String(lease.size)}; set a whole number of tokens >= 1`);
    }
    this.leaseSize = lease?.size ?? 1;
    this.leaseMaxAgeMs = lease?.maxAgeMs ?? 1000;
    this.denyOnFail = options.denyOnFail === true;
    this.clock = options.clock ?? monotonicClock;
    this.breaker = new ErrorRateBreaker(
      'rate limit Redis',
      // The error rate is left out (100% is never exceeded): a run of failures opens it.
      { errorThresholdPercentage: 100, resetTimeout: Math.max(1, options.breaker?.coolDownMs ?? 1000) },
      { consecutiveFailures: Math.max(1, options.breaker?.failureThreshold ?? 3), subject: 'the rate limit Redis', advice: 'Calls are answered per denyOnFail meanwhile' },
    );
    this.prefix = options.keyPrefix ?? 'rl';
    this.timeoutMs = timeout;
    this.client = connect(options.redis, timeout);
    this.client.on('error', (err: Error) => (this.lastError = err));
    this.client.defineCommand('meshRateLimitGcra', { numberOfKeys: 1, lua: GCRA_SCRIPT });
    const command = (this.client as unknown as { meshRateLimitGcra: GcraCommand }).meshRateLimitGcra;
    this.gcra = command.bind(this.client);
  }

  get stats(): RedisRateLimiterStats {
    return { ...this.counters, skipped: this.breaker.stats.rejects };
  }

  /** Resolves once the Redis connection is ready (calls before that are answered per denyOnFail). */
  ready(): Promise<void> {
    if (this.client.status === 'ready') return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onReady = (): void => {
        this.client.off('end', onEnd);
        resolve();
      };
      const onEnd = (): void => {
        this.client.off('ready', onReady);
        reject(new MeshError(MeshErrorCode.CLOSED, 'the rate limit Redis connection ended before it was ready'));
      };
      this.client.once('ready', onReady);
      this.client.once('end', onEnd);
    });
  }

  async shouldLimit(domain: string, descriptors: readonly RateLimitDescriptor[], hits = 1): Promise<boolean> {
    if (descriptors.length === 1) return this.check(domain, descriptors[0]!, hits);
    const results = await Promise.all(descriptors.map((d) => this.check(domain, d, hits)));
    return results.includes(true);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.breaker.shutdown();
    this.client.disconnect();
  }

  /** The Redis key of a descriptor: all of it inside one hash tag. */
  keyOf(domain: string, descriptor: RateLimitDescriptor): string {
    let key = `${this.prefix}:{${domain}`;
    for (let i = 0; i < descriptor.length; i++) key += `|${descriptor[i]!.key}=${descriptor[i]!.value}`;
    return `${key}}`;
  }

  private async check(domain: string, descriptor: RateLimitDescriptor, hits: number): Promise<boolean> {
    const rule = this.rules.find(domain, descriptor);
    if (rule === undefined) return false;
    if (rule.requestsPerUnit === 0) return this.over();
    const key = this.keyOf(domain, descriptor);
    let state = this.keys.get(key);
    if (state !== undefined) {
      const now = this.clock();
      if (now < state.deniedUntil) {
        this.counters.answeredLocally++;
        return this.over();
      }
      if (state.refill !== undefined) {
        // Another call of this process is already fetching a lease: share it.
        await state.refill.catch(() => undefined);
      }
      if (state.leased >= hits && this.clock() < state.leaseExpires) {
        state.leased -= hits;
        this.counters.answeredLocally++;
        return this.allowed();
      }
    } else {
      if (this.keys.size >= MAX_KEY_STATES) this.prune();
      state = { deniedUntil: 0, leased: 0, leaseExpires: 0, refill: undefined };
      this.keys.set(key, state);
    }
    return this.ask(key, rule, state, hits);
  }

  private async ask(key: string, rule: RateLimitRule, state: KeyState, hits: number): Promise<boolean> {
    if (this.closed) return this.failed(false);
    const interval = rule.unitMs / rule.requestsPerUnit;
    const want = this.leaseSize > hits ? this.leaseSize : hits;
    const pending = this.breaker.run(() => {
      this.counters.redisCalls++;
      return this.withDeadline(this.gcra(key, String(interval), String(rule.unitMs), want, hits));
    }, countsAgainstRedis);
    if (want > hits) state.refill = pending;
    let reply: [number, number];
    try {
      reply = await pending;
    } catch (err) {
      // The breaker refused: Redis was not asked.
      if (err instanceof MeshError && err.code === MeshErrorCode.CIRCUIT_OPEN) return this.failed(false);
      this.lastError = err as Error;
      return this.failed(true);
    } finally {
      if (state.refill === pending) state.refill = undefined;
    }
    const granted = Number(reply[0]);
    if (granted === 0) {
      const retryMs = Number(reply[1]);
      if (retryMs > 0) state.deniedUntil = this.clock() + retryMs;
      return this.over();
    }
    if (granted > hits) {
      state.leased += granted - hits;
      state.leaseExpires = this.clock() + this.leaseMaxAgeMs;
    }
    return this.allowed();
  }

  /**
   * The call's deadline, judged fairly. A timer due while the event loop was
   * busy runs before the socket is read, so a reply that had already arrived
   * would count as a Redis timeout, and three of them open the breaker (one
   * 30 ms stall switched a limit off for a second). So: on expiry the socket
   * first gets its read turn (setImmediate runs after the poll phase); and a
   * deadline missed because the loop itself was late starts once more from
   * when the loop came back. Only a reply still missing then is a failure.
   */
  private withDeadline<T>(pending: Promise<T>): Promise<T> {
    const timeoutMs = this.timeoutMs;
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      let extended = false;
      let due = performance.now() + timeoutMs;
      const fail = () => {
        if (settled) return;
        settled = true;
        reject(new MeshError(MeshErrorCode.TIMEOUT, `Redis did not answer the rate limit check within ${timeoutMs} ms`));
      };
      const expire = () => {
        if (settled) return;
        const now = performance.now();
        if (!extended && now - due > Math.max(2, timeoutMs / 2)) {
          // The loop came back late: Redis gets a full deadline from now.
          extended = true;
          due = now + timeoutMs;
          timer = setTimeout(expire, timeoutMs);
          return;
        }
        setImmediate(fail);
      };
      let timer = setTimeout(expire, timeoutMs);
      pending.then(
        (value) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve(value);
        },
        (err: unknown) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          reject(err);
        },
      );
    });
  }

  private allowed(): boolean {
    this.counters.ok++;
    return false;
  }

  private over(): boolean {
    this.counters.overLimit++;
    return true;
  }

  private failed(counted: boolean): boolean {
    if (counted) this.counters.failed++;
    return this.denyOnFail;
  }

  private prune(): void {
    const now = this.clock();
    for (const [key, s] of this.keys) {
      if (s.refill === undefined && now >= s.deniedUntil && (s.leased === 0 || now >= s.leaseExpires)) this.keys.delete(key);
    }
    if (this.keys.size >= MAX_KEY_STATES) this.keys.clear();
  }
}

/**
 * A connection of our own whose commands fail instead of queueing while
 * Redis is away (a queued check would spend a token long after its caller
 * gave up) and time out at the limiter's deadline.
 */
function connect(redis: RedisOptions | Redis | Cluster, timeoutMs: number): Redis | Cluster {
  // Auto-pipelining sends the checks of one tick in one write: many concurrent calls, few syscalls.
  // The call's deadline is the limiter's own (withDeadline); ioredis's timeout only drops commands left behind.
  const ours = { commandTimeout: Math.max(1000, timeoutMs * 10), enableOfflineQueue: false, autoResendUnfulfilledCommands: false, enableAutoPipelining: true };
  if (redis instanceof Cluster) {
    return redis.duplicate(undefined, { enableOfflineQueue: false, redisOptions: withOurs(redis.options.redisOptions, ours) });
  }
  if (redis instanceof Redis) return redis.duplicate(ours);
  return new Redis(withOurs(redis as RedisOptions, ours));
}

type ReplyMappingMode = NonNullable<RedisOptions['replyMapping']>;

/** `given` with `ours` over it. ioredis's constructors take `replyMapping` only when set (no `| undefined`), so an unset one is left out. */
function withOurs<T extends { replyMapping?: ReplyMappingMode | undefined }, O extends object>(
  given: T | undefined,
  ours: O,
): Omit<T, 'replyMapping'> & { replyMapping?: ReplyMappingMode } & O {
  const { replyMapping, ...rest } = given ?? ({} as T);
  return { ...rest, ...(replyMapping === undefined ? {} : { replyMapping }), ...ours };
}
