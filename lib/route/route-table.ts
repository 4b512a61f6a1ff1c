// The routes of one service port, compiled for lookup. Semantics are the
// reference's linear scan (first route in config order whose matchers all
// hold wins), but exact matchers are indexed so a lookup touches only the
// routes that could match: cost does not grow with the number of routes.
import { MeshError, MeshErrorCode, type Metadata } from '../protocol';
import type { MetadataMatcher, RouteConfig } from '../config';
import { CompiledRoute } from './compiled-route';
import type { MetadataPredicate } from './metadata-matcher';

const NO_ROUTES = new Int32Array(0);

export class RouteTable {
  /** The route config name, `<host>_<port>`. */
  readonly name: string;
  /** The compiled routes, in config order. */
  readonly routes: readonly CompiledRoute[];

  /** Per route, the matchers left to check once its index key is proved. */
  private readonly residual: readonly (readonly MetadataPredicate[])[];
  /** The distinct metadata keys the index uses. */
  private readonly indexKeys: readonly string[];
  /** Parallel to indexKeys: value → ascending indices of routes keyed on it. */
  private readonly indexMaps: readonly ReadonlyMap<string, Int32Array>[];
  /** Ascending indices of routes with no index key; checked on every lookup. */
  private readonly unindexed: Int32Array;
  // Lookup scratch, reused because match() is synchronous and never re-entered.
  private readonly lists: Int32Array[];
  private readonly heads: Int32Array;

  private constructor(name: string, routes: CompiledRoute[], matchers: readonly (readonly MetadataMatcher[])[]) {
    this.name = name;
    this.routes = routes;

    const pick = chooseIndexMatchers(matchers);
    const keys: string[] = [];
    const keyPos = new Map<string, number>();
    const buckets: Map<string, number[]>[] = [];
    const unindexed: number[] = [];
    const residual: (readonly MetadataPredicate[])[] = new Array(routes.length);
    for (let r = 0; r < routes.length; r++) {
      const at = pick[r];
      const ps = routes[r].matchers;
      if (at < 0) {
        unindexed.push(r);
        residual[r] = ps;
        continue;
      }
      residual[r] = without(ps, at);
      const m = matchers[r][at];
      let k = keyPos.get(m.name);
      if (k === undefined) {
        k = keys.push(m.name) - 1;
        keyPos.set(m.name, k);
        buckets.push(new Map());
      }
      const value = m.value as string;
      const list = buckets[k].get(value);
      if (list === undefined) buckets[k].set(value, [r]);
      else list.push(r);
    }
    this.residual = residual;
    this.indexKeys = keys;
    this.indexMaps = buckets.map(toIndexMap);
    this.unindexed = unindexed.length === 0 ? NO_ROUTES : Int32Array.from(unindexed);
    this.lists = new Array<Int32Array>(keys.length + 1).fill(NO_ROUTES);
    this.heads = new Int32Array(keys.length + 1);
  }

  /** Compiles `config`; throws MeshError CONFIG when a route cannot be compiled. */
  static compile(config: RouteConfig): RouteTable {
    let routes: CompiledRoute[];
    try {
      routes = config.routes.map((r) => new CompiledRoute(r));
    } catch (err) {
      const e = MeshError.from(err, MeshErrorCode.CONFIG);
      throw new MeshError(e.code, `route config '${config.name}': ${e.message}`, { cause: err, details: { ...e.details, routeConfig: config.name } });
    }
    return new RouteTable(config.name, routes, config.routes.map((r) => r.match));
  }

  get size(): number {
    return this.routes.length;
  }

  /** The first route, in config order, whose matchers all hold for `md`. */
  match(md: Metadata): CompiledRoute | undefined {
    const lists = this.lists;
    let n = 0;
    const keys = this.indexKeys;
    for (let k = 0; k < keys.length; k++) {
      const v = md.get(keys[k]);
      if (v === undefined) continue;
      const list = this.indexMaps[k].get(v);
      if (list !== undefined) lists[n++] = list;
    }
    if (this.unindexed.length > 0) lists[n++] = this.unindexed;
    if (n === 0) return undefined;
    if (n === 1) return this.walk(lists[0], md);
    // The usual shape: one indexed bucket plus the unindexed routes.
    if (n === 2) return this.walkTwo(lists[0], lists[1], md);
    return this.walkMerged(n, md);
  }

  private walk(list: Int32Array, md: Metadata): CompiledRoute | undefined {
    for (let i = 0; i < list.length; i++) {
      const r = list[i];
      if (holds(this.residual[r], md)) return this.routes[r];
    }
    return undefined;
  }

  private walkTwo(a: Int32Array, b: Int32Array, md: Metadata): CompiledRoute | undefined {
    let i = 0;
    let j = 0;
    while (i < a.length || j < b.length) {
      const r = j >= b.length || (i < a.length && a[i] < b[j]) ? a[i++] : b[j++];
      if (holds(this.residual[r], md)) return this.routes[r];
    }
    return undefined;
  }

  /** Walks `n` ascending candidate lists as one ascending sequence. */
  private walkMerged(n: number, md: Metadata): CompiledRoute | undefined {
    const lists = this.lists;
    const heads = this.heads;
    for (let j = 0; j < n; j++) heads[j] = 0;
    for (;;) {
      let best = -1;
      let bestRoute = 0x7fffffff;
      for (let j = 0; j < n; j++) {
        const h = heads[j];
        if (h < lists[j].length && lists[j][h] < bestRoute) {
          bestRoute = lists[j][h];
          best = j;
        }
      }
      if (best < 0) return undefined;
      heads[best]++;
      if (holds(this.residual[bestRoute], md)) return this.routes[bestRoute];
    }
  }
}

function holds(ps: readonly MetadataPredicate[], md: Metadata): boolean {
  for (let i = 0; i < ps.length; i++) if (!ps[i](md)) return false;
  return true;
}

/**
 * An exact matcher can stand in for a map lookup only when it matches one
 * value and nothing else: not inverted, case-sensitive, and non-empty (an
 * empty exact value matches any value). treatMissingAsEmpty is harmless: an
 * absent key reads as "", which never equals a non-empty value.
 */
function indexable(m: MetadataMatcher): boolean {
  return m.kind === 'exact' && m.invert !== true && m.ignoreCase !== true && typeof m.value === 'string' && m.value !== '';
}

/**
 * For each route, the position of the matcher used as its index key, or -1.
 * A route is indexed on its most selective exact matcher (the key/value
 * fewest routes share), so a lookup walks short candidate lists; ties go to
 * the key most routes use (typically "method"), so lookups consult few keys.
 */
function chooseIndexMatchers(matchers: readonly (readonly MetadataMatcher[])[]): Int32Array {
  // name → (value → routes using the pair), and name → routes using the key;
  // each route counts once per pair and once per key.
  const pairCount = new Map<string, Map<string, number>>();
  const keyCount = new Map<string, number>();
  for (const ms of matchers) {
    for (let i = 0; i < ms.length; i++) {
      const m = ms[i];
      if (!indexable(m)) continue;
      let sameKey = false;
      let samePair = false;
      for (let j = 0; j < i; j++) {
        const o = ms[j];
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
  const pick = new Int32Array(matchers.length);
  for (let r = 0; r < matchers.length; r++) {
    const ms = matchers[r];
    let at = -1;
    let atPairs = 0;
    let atKeys = 0;
    for (let i = 0; i < ms.length; i++) {
      const m = ms[i];
      if (!indexable(m)) continue;
      const pairs = (pairCount.get(m.name) as Map<string, number>).get(m.value as string) as number;
      const keyUses = keyCount.get(m.name) as number;
      const better = at < 0 || (pairs !== atPairs ? pairs < atPairs : keyUses !== atKeys ? keyUses > atKeys : m.name < ms[at].name);
      if (better) {
        at = i;
        atPairs = pairs;
        atKeys = keyUses;
      }
    }
    pick[r] = at;
  }
  return pick;
}

const NO_PREDICATES: readonly MetadataPredicate[] = Object.freeze([]);

/** `ps` without the predicate at `at`. */
function without(ps: readonly MetadataPredicate[], at: number): readonly MetadataPredicate[] {
  if (ps.length === 1) return NO_PREDICATES;
  const out = new Array<MetadataPredicate>(ps.length - 1);
  for (let i = 0, j = 0; i < ps.length; i++) if (i !== at) out[j++] = ps[i];
  return out;
}

function toIndexMap(bucket: Map<string, number[]>): ReadonlyMap<string, Int32Array> {
  const out = new Map<string, Int32Array>();
  for (const [value, routes] of bucket) out.set(value, new Int32Array(routes));
  return out;
}
