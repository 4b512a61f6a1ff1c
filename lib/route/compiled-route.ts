// One route of a RouteTable, compiled once per config change: its matchers as
// predicates, its weighted split as a cumulative array, and its mutations as
// ready lists, so the per-call work is a few comparisons and no allocation.
import { MeshError, MeshErrorCode, type Metadata } from '../protocol';
import type { MirrorPolicy, Route } from '../config';
import { compileMatcher, type MetadataPredicate } from './metadata-matcher';
import { idempotentMethods, parseRetryOn, type RetryConditions } from './retry-on';

/** A route's retry policy, compiled once. */
export interface CompiledRetry {
  /** Retries allowed after the first try (Istio `attempts`). */
  readonly attempts: number;
  /** 0 = each try may use what is left of the call's deadline. */
  readonly perTryTimeoutMs: number;
  readonly conditions: RetryConditions;
  readonly isIdempotent: (method?: string) => boolean;
}

const NO_SCRATCH: string[] = [];
const NO_NAMES: readonly string[] = Object.freeze([]);
const NO_WEIGHTS: readonly number[] = Object.freeze([]);

/** Above this many clusters a binary search beats a linear walk. */
const LINEAR_PICK_MAX = 8;

export class CompiledRoute {
  /** The model object this was compiled from. */
  readonly route: Route;
  readonly name: string;
  /** The request mutation's key/value pairs, in order; undefined when the route has none. */
  readonly requestMutation: readonly (readonly [string, string])[] | undefined;
  /** Prebuilt response mutation; undefined when the route has none. */
  readonly responseMutation: ReadonlyMap<string, string> | undefined;
  readonly mirrors: readonly MirrorPolicy[];
  /** Metadata keys hashed for ring-hash / maglev balancing. */
  readonly hashPolicy: readonly string[];
  /** Undefined when the route does not retry. */
  readonly retry: CompiledRetry | undefined;

  /** The route's matchers compiled to predicates, in config order. */
  readonly matchers: readonly MetadataPredicate[];
  private readonly clusterNames: readonly string[];
  /** Running sums of the weights; empty for a single cluster. */
  private readonly cumulative: readonly number[];
  private readonly totalWeight: number;
  private readonly single: string | undefined;
  /** Reused by hashKey so sorting many values does not allocate per call. */
  private readonly hashScratch: string[];

  constructor(route: Route) {
    this.route = route;
    this.name = route.name;
    const match = route.match;
    const matchers = new Array<MetadataPredicate>(match.length);
    try {
      for (let i = 0; i < match.length; i++) matchers[i] = compileMatcher(match[i]);
    } catch (err) {
      // Name the route too: a table can hold thousands of matchers on one key.
      const e = MeshError.from(err, MeshErrorCode.CONFIG);
      throw new MeshError(e.code, `route '${route.name}': ${e.message}`, { cause: err, details: { ...e.details, route: route.name } });
    }
    this.matchers = matchers;

    const retries = route.retries;
    this.retry =
      retries === undefined || retries.attempts <= 0
        ? undefined
        : Object.freeze({
            attempts: retries.attempts,
            perTryTimeoutMs: retries.perTryTimeoutMs,
            conditions: parseRetryOn(retries.retryOn),
            isIdempotent: idempotentMethods(retries.idempotentMethods),
          });

    const clusters = route.clusters;
    if (clusters.length === 0) {
      throw new MeshError(MeshErrorCode.CONFIG, `route '${route.name}' has no cluster; give it a cluster or weighted clusters`, {
        details: { route: route.name },
      });
    }
    const n = clusters.length;
    this.single = n === 1 ? clusters[0].cluster : undefined;
    // Plain arrays: a Float64Array costs three heap objects per route, which
    // a 10,000-route update pays for in garbage collection.
    let names = NO_NAMES;
    let cumulative = NO_WEIGHTS;
    let sum = 0;
    if (n > 1) {
      const ns = new Array<string>(n);
      const cs = new Array<number>(n);
      for (let i = 0; i < n; i++) {
        const w = clusters[i].weight;
        if (!(Number.isFinite(w) && w >= 0)) {
          throw new MeshError(
            MeshErrorCode.CONFIG,
            `route '${route.name}' gives cluster '${clusters[i].cluster}' weight ${w}; weights must be finite and >= 0`,
            { details: { route: route.name, cluster: clusters[i].cluster } },
          );
        }
        sum += w;
        cs[i] = sum;
        ns[i] = clusters[i].cluster;
      }
      if (sum <= 0) {
        throw new MeshError(MeshErrorCode.CONFIG, `route '${route.name}' has weighted clusters whose weights sum to 0; give at least one a positive weight`, {
          details: { route: route.name },
        });
      }
      names = ns;
      cumulative = cs;
    }
    this.clusterNames = names;
    this.cumulative = cumulative;
    this.totalWeight = sum;

    this.requestMutation = route.requestMutation.length === 0 ? undefined : route.requestMutation;
    this.responseMutation = toMap(route.responseMutation);
    this.mirrors = route.mirrors;
    this.hashPolicy = route.hashPolicy;
    // hashKey sorts only when there are two or more keys.
    this.hashScratch = route.hashPolicy.length < 2 ? NO_SCRATCH : new Array<string>(route.hashPolicy.length);
  }

  /** True when every matcher of the route holds for `md` (AND; none = match). */
  matches(md: Metadata): boolean {
    const ps = this.matchers;
    for (let i = 0; i < ps.length; i++) if (!ps[i](md)) return false;
    return true;
  }

  /**
   * Picks the target cluster. `random` is uniform in [0, 1); a zero-weight
   * cluster is never picked, as with Envoy's `random % Σweights` walk.
   */
  pickCluster(random: number): string {
    if (this.single !== undefined) return this.single;
    const cum = this.cumulative;
    const target = random * this.totalWeight;
    const n = cum.length;
    if (n <= LINEAR_PICK_MAX) {
      for (let i = 0; i < n - 1; i++) if (target < cum[i]) return this.clusterNames[i];
      return this.lastPositive();
    }
    // First index whose cumulative weight exceeds target.
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (target < cum[mid]) hi = mid;
      else lo = mid + 1;
    }
    return target < cum[lo] ? this.clusterNames[lo] : this.lastPositive();
  }

  /**
   * The ring-hash / maglev key: the values of the hashPolicy keys ("" when
   * absent), sorted as the reference does so key order does not matter,
   * joined unambiguously. Undefined when the route has no hash policy.
   */
  hashKey(md: Metadata): string | undefined {
    const keys = this.hashPolicy;
    const n = keys.length;
    if (n === 0) return undefined;
    if (n === 1) return md.get(keys[0]) ?? '';
    const vs = this.hashScratch;
    for (let i = 0; i < n; i++) vs[i] = md.get(keys[i]) ?? '';
    if (n === 2) {
      if (vs[1] < vs[0]) {
        const t = vs[0];
        vs[0] = vs[1];
        vs[1] = t;
      }
    } else {
      vs.sort();
    }
    // Length-prefixed so values containing any separator cannot collide.
    let out = '';
    for (let i = 0; i < n; i++) out += `${vs[i].length}:${vs[i]}`;
    return out;
  }

  // Floating-point rounding can leave random * total a hair above the last
  // cumulative value; fall back to the last cluster that can be picked.
  private lastPositive(): string {
    const cum = this.cumulative;
    for (let i = cum.length - 1; i > 0; i--) if (cum[i] > cum[i - 1]) return this.clusterNames[i];
    return this.clusterNames[0];
  }
}

function toMap(pairs: readonly (readonly [string, string])[]): ReadonlyMap<string, string> | undefined {
  if (pairs.length === 0) return undefined;
  return new Map(pairs);
}
