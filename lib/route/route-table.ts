// The routes of one service port, compiled for lookup. Semantics are the
// reference's linear scan (first route in config order whose matchers all
// hold wins), but exact matchers are indexed so a lookup touches only the
// routes that could match: cost does not grow with the number of routes.
import { MeshError, MeshErrorCode, type Metadata } from '../protocol';
import type { MetadataMatcher, Route, RouteConfig } from '../config';
import { runNow, type Steps } from '../config/sliced-work';
import { CompiledRoute, newCompileCache } from './compiled-route';
import { isPlainExact } from './metadata-matcher';

/** Routes compiled between two points where a compile in slices may yield. */
const ROUTES_PER_STEP = 64;
/** Routes looked at between two such points while the index is chosen (a cheaper step per route). */
const INDEX_ROUTES_PER_STEP = 1024;

export class RouteTable {
  /** The route config name, `<host>_<port>`. */
  readonly name: string;
  /** The compiled routes, in config order. */
  readonly routes: readonly CompiledRoute[];

  /** The distinct metadata keys the index uses. */
  private readonly indexKeys: readonly string[];
  /** Parallel to indexKeys: value → bucket number. */
  private readonly indexMaps: readonly ReadonlyMap<string, number>[];
  /**
   * Every bucket's routes, ascending, one bucket after the other; bucket b
   * spans postings[bucketStart[b]] up to postings[bucketStart[b + 1]]. The
   * last bucket holds the routes with no index key, checked on every lookup.
   * One flat array instead of a list per value keeps a 10,000-route compile
   * to a handful of allocations.
   */
  private readonly postings: Int32Array;
  private readonly bucketStart: Int32Array;
  private readonly unindexedBucket: number;
  // Lookup scratch, reused because match() is synchronous and never re-entered.
  private readonly starts: Int32Array;
  private readonly ends: Int32Array;

  private constructor(name: string, routes: CompiledRoute[], plan: IndexPlan) {
    this.name = name;
    this.routes = routes;
    const { keys, keyBuckets, bucketOf, buckets } = plan;
    this.indexKeys = keys;
    this.indexMaps = keyBuckets;
    this.unindexedBucket = buckets;

    // Counting sort of the routes into their buckets, config order kept. Every bucket
    // number b is at most `buckets`, so b + 1 is inside bucketStart (buckets + 2 long).
    const bucketStart = new Int32Array(buckets + 2);
    for (const b of bucketOf) bucketStart[b + 1]!++;
    for (let b = 0; b <= buckets; b++) bucketStart[b + 1]! += bucketStart[b]!;
    const fill = bucketStart.slice(0, buckets + 1);
    const postings = new Int32Array(routes.length);
    bucketOf.forEach((b, r) => {
      postings[fill[b]!++] = r;
    });
    this.postings = postings;
    this.bucketStart = bucketStart;
    this.starts = new Int32Array(keys.length + 1);
    this.ends = new Int32Array(keys.length + 1);
  }

  /** Compiles `config`; throws MeshError CONFIG when a route cannot be compiled. */
  static compile(config: RouteConfig): RouteTable {
    return runNow(RouteTable.compileSteps(config));
  }

  /** compile() in steps of ROUTES_PER_STEP routes, for runSliced: 10,000 routes never hold the event loop at once. */
  static *compileSteps(config: RouteConfig): Steps<RouteTable> {
    const list = config.routes;
    // The index first: a route's compiled form leaves out the matcher its bucket proves.
    const plan = yield* chooseIndexMatchers(list);
    const routes = new Array<CompiledRoute>(list.length);
    const cache = newCompileCache();
    try {
      let i = 0;
      for (const route of list) {
        if (i % ROUTES_PER_STEP === ROUTES_PER_STEP - 1) yield;
        routes[i] = new CompiledRoute(route, cache, plan.proved[i]!); // i < list.length = proved.length
        i++;
      }
    } catch (err) {
      const e = MeshError.from(err, MeshErrorCode.CONFIG);
      throw new MeshError(e.code, `route config '${config.name}': ${e.message}`, { cause: err, details: { ...e.details, routeConfig: config.name } });
    }
    return new RouteTable(config.name, routes, plan);
  }

  get size(): number {
    return this.routes.length;
  }

  // The lookup below indexes its arrays with `!`: this is the per-call hot path, and every
  // index is in range by construction (k < indexKeys.length = indexMaps.length; a bucket
  // number b < unindexedBucket + 1, and bucketStart has unindexedBucket + 2 entries;
  // posting ranges lie inside postings; postings hold route numbers < routes.length).

  /** The first route, in config order, whose matchers all hold for `md`. */
  match(md: Metadata): CompiledRoute | undefined {
    const starts = this.starts;
    const ends = this.ends;
    const bucketStart = this.bucketStart;
    let n = 0;
    const keys = this.indexKeys;
    for (let k = 0; k < keys.length; k++) {
      const v = md.get(keys[k]!);
      if (v === undefined) continue;
      const b = this.indexMaps[k]!.get(v);
      if (b === undefined) continue;
      starts[n] = bucketStart[b]!;
      ends[n++] = bucketStart[b + 1]!;
    }
    const u = this.unindexedBucket;
    const uStart = bucketStart[u]!;
    const uEnd = bucketStart[u + 1]!;
    if (uEnd > uStart) {
      starts[n] = uStart;
      ends[n++] = uEnd;
    }
    if (n === 0) return undefined;
    if (n === 1) return this.walk(starts[0]!, ends[0]!, md);
    // The usual shape: one indexed bucket plus the unindexed routes.
    if (n === 2) return this.walkTwo(starts[0]!, ends[0]!, starts[1]!, ends[1]!, md);
    return this.walkMerged(n, md);
  }

  private walk(from: number, to: number, md: Metadata): CompiledRoute | undefined {
    const postings = this.postings;
    for (let i = from; i < to; i++) {
      const r = postings[i]!;
      if (this.holds(r, md)) return this.routes[r];
    }
    return undefined;
  }

  private walkTwo(i: number, iEnd: number, j: number, jEnd: number, md: Metadata): CompiledRoute | undefined {
    const postings = this.postings;
    while (i < iEnd || j < jEnd) {
      const r = j >= jEnd || (i < iEnd && postings[i]! < postings[j]!) ? postings[i++]! : postings[j++]!;
      if (this.holds(r, md)) return this.routes[r];
    }
    return undefined;
  }

  /** Walks `n` ascending candidate ranges as one ascending sequence. */
  private walkMerged(n: number, md: Metadata): CompiledRoute | undefined {
    const postings = this.postings;
    const heads = this.starts;
    const ends = this.ends;
    for (;;) {
      let best = -1;
      let bestRoute = 0x7fffffff;
      for (let j = 0; j < n; j++) {
        const h = heads[j]!;
        if (h < ends[j]! && postings[h]! < bestRoute) {
          bestRoute = postings[h]!;
          best = j;
        }
      }
      if (best < 0) return undefined;
      heads[best]!++;
      if (this.holds(bestRoute, md)) return this.routes[bestRoute];
    }
  }

  /** Route `r`'s matchers all hold (its predicates leave out the one its bucket proved). */
  private holds(r: number, md: Metadata): boolean {
    const ps = this.routes[r]!.predicates;
    for (let i = 0; i < ps.length; i++) if (!ps[i]!(md)) return false;
    return true;
  }
}

/** An exact matcher can stand in for a map lookup only when it matches one value and nothing else. */
const indexable = isPlainExact;

interface IndexPlan {
  /** Per route, the position of its index matcher (whose predicate it does not need), or -1. */
  readonly proved: Int32Array;
  /** The distinct metadata keys used as index keys. */
  readonly keys: string[];
  /** Parallel to keys: value → bucket number. */
  readonly keyBuckets: Map<string, number>[];
  /** Per route, its bucket; routes with no index key get bucket `buckets`. */
  readonly bucketOf: Int32Array;
  /** The number of indexed buckets. */
  readonly buckets: number;
}

/**
 * Chooses each route's index matcher and numbers the buckets. A route is
 * indexed on its most selective exact matcher (the key/value fewest routes
 * share), so a lookup walks short candidate lists; ties go to the key most
 * routes use (typically "method"), so lookups consult few keys.
 */
function* chooseIndexMatchers(routes: readonly Route[]): Steps<IndexPlan> {
  // name → (value → routes using the pair), and name → routes using the key;
  // each route counts once per pair and once per key.
  const pairCount = new Map<string, Map<string, number>>();
  const keyCount = new Map<string, number>();
  let seen = 0;
  for (const route of routes) {
    if (++seen % INDEX_ROUTES_PER_STEP === 0) yield;
    const ms = route.match;
    for (const [i, m] of ms.entries()) {
      if (!indexable(m)) continue;
      let sameKey = false;
      let samePair = false;
      for (let j = 0; j < i; j++) {
        const o = ms[j]!; // j < i < ms.length
        if (o.name !== m.name || !indexable(o)) continue;
        sameKey = true;
        if (o.value === m.value) samePair = true;
      }
      const value = m.value as string;
      let values = pairCount.get(m.name);
      if (values === undefined) {
        values = new Map();
        pairCount.set(m.name, values);
      }
      if (!samePair) values.set(value, (values.get(value) ?? 0) + 1);
      if (!sameKey) keyCount.set(m.name, (keyCount.get(m.name) ?? 0) + 1);
    }
  }
  const proved = new Int32Array(routes.length);
  const bucketOf = new Int32Array(routes.length);
  const keys: string[] = [];
  const keyBuckets: Map<string, number>[] = [];
  const bucketsOfKey = new Map<string, Map<string, number>>();
  const unindexed: number[] = [];
  let buckets = 0;
  for (const [r, route] of routes.entries()) {
    if (r % INDEX_ROUTES_PER_STEP === INDEX_ROUTES_PER_STEP - 1) yield;
    const ms = route.match;
    let best: MetadataMatcher | undefined;
    let at = -1;
    let atPairs = 0;
    let atKeys = 0;
    for (const [i, m] of ms.entries()) {
      if (!indexable(m)) continue;
      const pairs = (pairCount.get(m.name) as Map<string, number>).get(m.value as string) as number;
      const keyUses = keyCount.get(m.name) as number;
      const better = best === undefined || (pairs !== atPairs ? pairs < atPairs : keyUses !== atKeys ? keyUses > atKeys : m.name < best.name);
      if (better) {
        best = m;
        at = i;
        atPairs = pairs;
        atKeys = keyUses;
      }
    }
    proved[r] = at;
    if (best === undefined) {
      unindexed.push(r);
      continue;
    }
    let values = bucketsOfKey.get(best.name);
    if (values === undefined) {
      values = new Map();
      bucketsOfKey.set(best.name, values);
      keys.push(best.name);
      keyBuckets.push(values);
    }
    let b = values.get(best.value as string);
    if (b === undefined) {
      b = buckets++;
      values.set(best.value as string, b);
    }
    bucketOf[r] = b;
  }
  for (const r of unindexed) bucketOf[r] = buckets;
  return { proved, keys, keyBuckets, bucketOf, buckets };
}
