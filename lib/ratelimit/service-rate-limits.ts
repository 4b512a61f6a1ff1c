// ServiceRateLimits: turns a service's MetaRouter rate limit policies into the
// inbound rate limit filter, once per config snapshot. Limiters are kept while
// their policy is unchanged, so token buckets (and RLS channels) survive
// config reloads instead of refilling on every edit.
import type { ClusterConfig, GlobalRateLimit, LocalRateLimit, RouteConfig } from '../config/model';
import type { Filter } from '../filters/call';
import type { GlobalRateLimiter, RateLimitEntry } from './global-rate-limiter';
import { LocalRateLimiter } from './local-rate-limiter';
import { createRateLimitFilter, type RateLimitFilter } from './rate-limit-filter';
import { RlsRateLimiter } from './rls-rate-limiter';

interface Kept<P, L> {
  readonly key: string;
  readonly policy: P;
  readonly limiter: L;
}

/** Answers every check as the policy says to when the service cannot be reached. */
class UnreachableRateLimiter implements GlobalRateLimiter {
  constructor(private readonly deny: boolean) {}
  shouldLimit(_domain: string, _descriptors: RateLimitEntry[][]): Promise<boolean> {
    return Promise.resolve(this.deny);
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

export class ServiceRateLimits {
  private readonly local = new Map<string, Kept<LocalRateLimit, LocalRateLimiter>>();
  private readonly global = new Map<string, Kept<GlobalRateLimit, GlobalRateLimiter>>();
  /** Filters by route config name, for the dump and tests. */
  readonly filters = new Map<string, RateLimitFilter>();

  constructor(private readonly warn: (message: string) => void) {}

  /** The rate limit filter for a served service, or undefined when its MetaRouter sets no limits. */
  filterFor(config: RouteConfig | undefined, clusters: ReadonlyMap<string, ClusterConfig>): Filter | undefined {
    if (config === undefined || (config.localRateLimit === undefined && config.globalRateLimit === undefined)) return undefined;
    const local = config.localRateLimit === undefined ? undefined : this.localFor(config.name, config.localRateLimit);
    const global = config.globalRateLimit === undefined ? undefined : this.globalFor(config.name, config.globalRateLimit, clusters);
    const filter = createRateLimitFilter({
      ...(local === undefined ? {} : { local }),
      ...(global === undefined
        ? {}
        : { global: { limiter: global, domain: config.globalRateLimit!.domain, match: config.globalRateLimit!.match, descriptors: config.globalRateLimit!.descriptors } }),
    });
    this.filters.set(config.name, filter);
    return filter;
  }

  /**
   * Drops the limiters of services whose MetaRouter no longer sets that limit
   * (or is gone), closing their RLS channels. Called with each new snapshot.
   */
  retain(routeConfigs: ReadonlyMap<string, RouteConfig>): void {
    for (const name of this.local.keys()) if (routeConfigs.get(name)?.localRateLimit === undefined) this.local.delete(name);
    for (const [name, kept] of this.global) {
      if (routeConfigs.get(name)?.globalRateLimit !== undefined) continue;
      this.global.delete(name);
      kept.limiter.close().catch(() => undefined);
    }
    for (const name of this.filters.keys()) {
      const config = routeConfigs.get(name);
      if (config?.localRateLimit === undefined && config?.globalRateLimit === undefined) this.filters.delete(name);
    }
  }

  /** Limiters kept (local and global). */
  get size(): number {
    return this.local.size + this.global.size;
  }

  async close(): Promise<void> {
    const limiters = [...this.global.values()].map((k) => k.limiter);
    this.global.clear();
    this.local.clear();
    await Promise.allSettled(limiters.map((l) => l.close()));
  }

  private localFor(name: string, policy: LocalRateLimit): LocalRateLimiter {
    const key = JSON.stringify(policy);
    const kept = this.local.get(name);
    if (kept !== undefined && kept.key === key) return kept.limiter;
    const limiter = new LocalRateLimiter(policy);
    this.local.set(name, { key, policy, limiter });
    return limiter;
  }

  private globalFor(name: string, policy: GlobalRateLimit, clusters: ReadonlyMap<string, ClusterConfig>): GlobalRateLimiter {
    const target = grpcTarget(clusters.get(policy.rateLimitService));
    const key = `${target}|${policy.requestTimeoutMs}|${policy.denyOnFail}`;
    const kept = this.global.get(name);
    if (kept !== undefined && kept.key === key) return kept.limiter;
    if (kept !== undefined) kept.limiter.close().catch(() => undefined);
    let limiter: GlobalRateLimiter;
    if (target === undefined) {
      this.warn(
        `${name}: globalRateLimit.rateLimitService ${policy.rateLimitService} is not a cluster with endpoints; every call is ${policy.denyOnFail ? 'refused' : 'allowed'} (denyOnFail: ${policy.denyOnFail}) until a ServiceEntry declares it`,
      );
      limiter = new UnreachableRateLimiter(policy.denyOnFail);
    } else {
      limiter = new RlsRateLimiter({ target, requestTimeoutMs: policy.requestTimeoutMs, denyOnFail: policy.denyOnFail });
    }
    this.global.set(name, { key, policy, limiter });
    return limiter;
  }
}

/** A gRPC target for a cluster's endpoints: `host:port` for one, `ipv4:a:p,b:p` for several IPv4 ones. */
function grpcTarget(cluster: ClusterConfig | undefined): string | undefined {
  const endpoints = cluster?.endpoints ?? [];
  if (endpoints.length === 0) return undefined;
  if (endpoints.length === 1) return `${endpoints[0]!.address}:${endpoints[0]!.port}`;
  if (endpoints.every((e) => /^\d+\.\d+\.\d+\.\d+$/.test(e.address))) return `ipv4:${endpoints.map((e) => `${e.address}:${e.port}`).join(',')}`;
  return `${endpoints[0]!.address}:${endpoints[0]!.port}`;
}
