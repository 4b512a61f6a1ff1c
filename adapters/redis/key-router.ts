// KeyRouter: the compiled prefix routes of one RedisService port. A key goes
// to the route with the longest matching prefix (as Envoy's redis_proxy
// prefix_routes), else the catch-all. Built once per config snapshot.
import type { RedisRoute, RedisServicePolicy } from '../../lib/config/redis-model';

export class KeyRouter {
  /** Longest prefix first, so the first match is the longest. */
  private readonly routes: readonly RedisRoute[];
  private readonly catchAll: RedisRoute | undefined;
  private readonly caseInsensitive: boolean;
  /** First characters any prefix starts with; a key starting elsewhere skips the scan. */
  private readonly firstChars: Set<number>;
  private readonly hasEmptyPrefix: boolean;

  constructor(readonly policy: RedisServicePolicy) {
    this.routes = policy.routes;
    this.catchAll = policy.catchAll;
    this.caseInsensitive = policy.settings.caseInsensitive;
    this.firstChars = new Set(policy.routes.filter((r) => r.prefix !== '').map((r) => r.prefix!.charCodeAt(0)));
    this.hasEmptyPrefix = policy.routes.some((r) => r.prefix === '');
  }

  /** Every route a command may use (prefix routes, then the catch-all). */
  get all(): readonly RedisRoute[] {
    return this.catchAll === undefined ? this.routes : [...this.routes, this.catchAll];
  }

  /** The route for a key (a string; Buffer keys are read as UTF-8 by the caller), or undefined when none matches. */
  route(key: string): RedisRoute | undefined {
    const k = this.caseInsensitive ? key.toLowerCase() : key;
    if (k.length > 0 && this.firstChars.has(k.charCodeAt(0))) {
      const routes = this.routes;
      for (let i = 0; i < routes.length; i++) {
        const r = routes[i]!;
        if (k.startsWith(r.prefix!)) return r;
      }
    } else if (this.hasEmptyPrefix) {
      return this.routes[this.routes.length - 1];
    }
    return this.catchAll;
  }

  /** Where keyless commands (PING aside: INFO, DBSIZE, SCAN, ...) go: the catch-all, or the only route. */
  keyless(): RedisRoute | undefined {
    if (this.catchAll !== undefined) return this.catchAll;
    return this.routes.length === 1 ? this.routes[0] : undefined;
  }
}

/** The key with a route's prefix removed when the route says so; Buffers stay Buffers. */
export function stripPrefix(route: RedisRoute, key: string | Buffer): string | Buffer {
  if (!route.removePrefix || route.prefix === undefined || route.prefix === '') return key;
  const n = route.prefix.length;
  if (typeof key === 'string') return key.slice(n);
  return key.subarray(Buffer.byteLength(route.prefix));
}
