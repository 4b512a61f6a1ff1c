// The common shape of a MetaRDS route, read from the wire straight into the
// model: a name; exact and prefix header matchers (plain, or string_match
// with ignore_case, inverted, missing-as-empty); one cluster or weighted
// clusters; header hash keys; header mutations. That is nearly every route
// Aeraki sends, and skipping the decoded proto objects in between halves the
// cost of a 10,000-route update.
//
// Anything else, including every field or value the translation would
// refuse, is not handled here: the reader gives up on the route and the
// caller decodes it in full and translates it with routeFromXdsAt, which
// stays the one definition of the semantics and of the error messages. A
// differential test holds the two paths to the same results. Parts equal to
// the previous route's are shared, and a one-cluster list is shared by every
// route of the configuration to that cluster (SharedParts).
import type { MetadataMatcher, Route, WeightedCluster } from '../config/model';
import type { WireReader } from './plain-decoder';

const EMPTY: readonly never[] = Object.freeze([]);

// Tags: field number << 3 | wire type (0 varint, 2 length-delimited).
const ROUTE_NAME = (14 << 3) | 2;
const ROUTE_MATCH = (1 << 3) | 2;
const ROUTE_ACTION = (2 << 3) | 2;
const ROUTE_REQUEST_HEADERS = (9 << 3) | 2;
const ROUTE_RESPONSE_HEADERS = (10 << 3) | 2;
const MATCH_PREFIX = (1 << 3) | 2;
const MATCH_PATH = (2 << 3) | 2;
const MATCH_HEADERS = (6 << 3) | 2;
const HEADER_NAME = (1 << 3) | 2;
const HEADER_EXACT = (4 << 3) | 2;
const HEADER_PREFIX = (9 << 3) | 2;
const HEADER_STRING_MATCH = (13 << 3) | 2;
const HEADER_INVERT = (8 << 3) | 0;
const HEADER_MISSING_AS_EMPTY = (14 << 3) | 0;
const STRING_EXACT = (1 << 3) | 2;
const STRING_PREFIX = (2 << 3) | 2;
const STRING_IGNORE_CASE = (6 << 3) | 0;
const ACTION_CLUSTER = (1 << 3) | 2;
const ACTION_WEIGHTED = (3 << 3) | 2;
const ACTION_HASH_POLICY = (15 << 3) | 2;
const WEIGHTED_CLUSTERS = (1 << 3) | 2;
const WEIGHTED_TOTAL = (3 << 3) | 2;
const CLUSTER_NAME = (1 << 3) | 2;
const CLUSTER_WEIGHT = (2 << 3) | 2;
const UINT32_VALUE = (1 << 3) | 0;
const HASH_HEADER = (1 << 3) | 2;
const HASH_TERMINAL = (4 << 3) | 0;
const HASH_HEADER_NAME = (1 << 3) | 2;
const OPTION_HEADER = (1 << 3) | 2;
const OPTION_APPEND = (2 << 3) | 2;
const HEADER_KEY = (1 << 3) | 2;
const HEADER_VALUE = (2 << 3) | 2;

/**
 * What the previous routes of the same configuration built, to hand out
 * again when the next route has the same parts: routes of one service
 * mostly share matchers, clusters and hash keys, and model objects are
 * frozen, so sharing them is safe. It halves what a large update allocates.
 */
export class SharedParts {
  /** By position in the route's match list. */
  readonly matchers: MetadataMatcher[] = [];
  /** The header names as sent (before lower-casing), by position. */
  readonly headerNames: string[] = [];
  /** Request, then response, mutation keys and values as the last route had them, by position. */
  readonly mutations: [string[], string[]] = [[], []];
  hashHeader = '';
  clusters: readonly WeightedCluster[] = EMPTY;
  hashPolicy: readonly string[] = EMPTY;
  /**
   * The clusters list of a route to one cluster, by the cluster's name, for
   * every route of the configuration: routes to the same cluster are seldom
   * next to each other (Aeraki lists them by method), and one list per route
   * was an array and an object to keep per route (and a ClusterSplit, which
   * the route table shares by list).
   */
  private readonly singles = new Map<string, readonly WeightedCluster[]>();

  /** The frozen list `[{ cluster, weight: 1 }]`, the same object for the same name. */
  single(cluster: string): readonly WeightedCluster[] {
    let list = this.singles.get(cluster);
    if (list === undefined) this.singles.set(cluster, (list = Object.freeze([Object.freeze({ cluster, weight: 1 })])));
    return list;
  }
}

/** Thrown inside this file only: the route is not of the common shape. */
const NOT_COMMON = new Error('not the common route shape');

/**
 * Reads the Route between the reader's position and `end` if it has the
 * common shape and is valid, leaving the reader at `end`; otherwise returns
 * undefined with the reader back where it was.
 */
export function commonRouteFromWire(r: WireReader, end: number, shared: SharedParts): Route | undefined {
  const start = r.pos;
  try {
    return readRoute(r, end, shared);
  } catch {
    // Not common, or damaged bytes: the full decode reports those its own way.
    r.pos = start;
    return undefined;
  }
}

function readRoute(r: WireReader, end: number, shared: SharedParts): Route {
  let name = '';
  let match: readonly MetadataMatcher[] = EMPTY;
  let action: Action | undefined;
  let requestMutation: readonly (readonly [string, string])[] = EMPTY;
  let responseMutation: readonly (readonly [string, string])[] = EMPTY;
  let seen = 0;
  while (r.pos < end) {
    const tag = r.uint32();
    switch (tag) {
      case ROUTE_NAME:
        name = r.string(end);
        break;
      case ROUTE_MATCH:
        seen = once(seen, 1);
        match = readMatch(r, sub(r, end), shared);
        break;
      case ROUTE_ACTION:
        seen = once(seen, 2);
        action = readAction(r, sub(r, end), shared);
        break;
      case ROUTE_REQUEST_HEADERS:
        requestMutation = withMutation(requestMutation, r, sub(r, end), shared.mutations[0]);
        break;
      case ROUTE_RESPONSE_HEADERS:
        responseMutation = withMutation(responseMutation, r, sub(r, end), shared.mutations[1]);
        break;
      default:
        throw NOT_COMMON;
    }
  }
  if (action === undefined) throw NOT_COMMON;
  ended(r, end);
  return Object.freeze({ name, match, clusters: action.clusters, hashPolicy: action.hashPolicy, mirrors: EMPTY, requestMutation, responseMutation });
}

/** The end of the length-delimited value at the reader's position. */
function sub(r: WireReader, end: number): number {
  return r.limit(r.uint32(), end);
}

/** Every message must end exactly where its length said. */
function ended(r: WireReader, end: number): void {
  if (r.pos !== end) throw NOT_COMMON;
}

/** A singular message field seen twice replaces rather than merges in the full decode; left to it. */
function once(seen: number, bit: number): number {
  if ((seen & bit) !== 0) throw NOT_COMMON;
  return seen | bit;
}

function readMatch(r: WireReader, end: number, shared: SharedParts): readonly MetadataMatcher[] {
  const out: MetadataMatcher[] = [];
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag === MATCH_HEADERS) out.push(readHeaderMatcher(r, sub(r, end), shared, out.length));
    else if (tag === MATCH_PREFIX || tag === MATCH_PATH) r.pos = sub(r, end);
    else throw NOT_COMMON;
  }
  ended(r, end);
  if (out.length === 0) return EMPTY;
  // A copy of the exact length: `out` grew by push to room for 17 (184 B for one matcher, kept per route).
  return Object.freeze(out.length === 1 ? [out[0]!] : out.slice());
}

function readHeaderMatcher(r: WireReader, end: number, shared: SharedParts, at: number): MetadataMatcher {
  const last = shared.matchers[at];
  let name = '';
  let kind: 'exact' | 'prefix' | undefined;
  let value = '';
  let invert = false;
  let missingAsEmpty = false;
  let ignoreCase = false;
  while (r.pos < end) {
    const tag = r.uint32();
    switch (tag) {
      case HEADER_NAME:
        name = r.stringLike(end, shared.headerNames[at] ?? '');
        shared.headerNames[at] = name;
        break;
      case HEADER_EXACT:
      case HEADER_PREFIX:
        if (kind !== undefined) throw NOT_COMMON; // two specifiers of the oneof
        kind = tag === HEADER_EXACT ? 'exact' : 'prefix';
        value = r.stringLike(end, last?.value ?? '');
        break;
      case HEADER_STRING_MATCH: {
        if (kind !== undefined) throw NOT_COMMON;
        const stop = sub(r, end);
        while (r.pos < stop) {
          const t = r.uint32();
          if ((t === STRING_EXACT || t === STRING_PREFIX) && kind === undefined) {
            kind = t === STRING_EXACT ? 'exact' : 'prefix';
            value = r.stringLike(stop, last?.value ?? '');
          } else if (t === STRING_IGNORE_CASE) {
            ignoreCase = r.uint32() !== 0;
          } else {
            throw NOT_COMMON;
          }
        }
        ended(r, stop);
        if (kind === undefined) throw NOT_COMMON;
        break;
      }
      case HEADER_INVERT:
        invert = r.uint32() !== 0;
        break;
      case HEADER_MISSING_AS_EMPTY:
        missingAsEmpty = r.uint32() !== 0;
        break;
      default:
        throw NOT_COMMON;
    }
  }
  ended(r, end);
  const key = name.toLowerCase();
  // Refusals (no name, an empty prefix) and presence matchers are the full path's.
  if (key === '' || kind === undefined || (kind === 'prefix' && value === '')) throw NOT_COMMON;
  if (
    last !== undefined &&
    last.name === key &&
    last.kind === kind &&
    last.value === value &&
    (last.invert === true) === invert &&
    (last.treatMissingAsEmpty === true) === missingAsEmpty &&
    (last.ignoreCase === true) === ignoreCase
  ) {
    return last;
  }
  const m: { -readonly [K in keyof MetadataMatcher]: MetadataMatcher[K] } = { name: key, kind, value };
  if (invert) m.invert = true;
  if (missingAsEmpty) m.treatMissingAsEmpty = true;
  if (ignoreCase) m.ignoreCase = true;
  shared.matchers[at] = Object.freeze(m);
  return m;
}

interface Action {
  readonly clusters: readonly WeightedCluster[];
  readonly hashPolicy: readonly string[];
}

function readAction(r: WireReader, end: number, shared: SharedParts): Action {
  let cluster: string | undefined;
  let weighted: readonly WeightedCluster[] | undefined;
  let hashPolicy: string[] | undefined;
  while (r.pos < end) {
    const tag = r.uint32();
    switch (tag) {
      case ACTION_CLUSTER:
        if (cluster !== undefined || weighted !== undefined) throw NOT_COMMON;
        cluster = r.string(end);
        break;
      case ACTION_WEIGHTED:
        if (cluster !== undefined || weighted !== undefined) throw NOT_COMMON;
        weighted = readWeighted(r, sub(r, end), shared.clusters);
        break;
      case ACTION_HASH_POLICY: {
        const key = readHashHeader(r, sub(r, end), shared);
        if (key !== '') {
          hashPolicy ??= [];
          if (!hashPolicy.includes(key)) hashPolicy.push(key);
        }
        break;
      }
      default:
        throw NOT_COMMON;
    }
  }
  ended(r, end);
  if (cluster !== undefined && cluster !== '') shared.clusters = shared.single(cluster);
  else if (weighted === undefined) throw NOT_COMMON;
  else if (!sameClusters(weighted, shared.clusters)) shared.clusters = Object.freeze(weighted.map((c) => Object.freeze(c)));
  if (hashPolicy !== undefined && !sameStrings(hashPolicy, shared.hashPolicy)) shared.hashPolicy = Object.freeze(hashPolicy);
  return { clusters: shared.clusters, hashPolicy: hashPolicy === undefined ? EMPTY : shared.hashPolicy };
}

function sameClusters(a: readonly WeightedCluster[], b: readonly WeightedCluster[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!; // i < a.length = b.length
    const y = b[i]!;
    if (x.cluster !== y.cluster || x.weight !== y.weight) return false;
  }
  return true;
}

function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function readWeighted(r: WireReader, end: number, last: readonly WeightedCluster[]): readonly WeightedCluster[] {
  const out: WeightedCluster[] = [];
  let sum = 0;
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag === WEIGHTED_TOTAL) {
      r.pos = sub(r, end); // the proxy ignores total_weight
      continue;
    }
    if (tag !== WEIGHTED_CLUSTERS) throw NOT_COMMON;
    const stop = sub(r, end);
    let name = '';
    let weight = -1;
    while (r.pos < stop) {
      const t = r.uint32();
      if (t === CLUSTER_NAME) {
        name = r.stringLike(stop, last[out.length]?.cluster ?? '');
      } else if (t === CLUSTER_WEIGHT) {
        // An empty wrapper has no value (proto3 leaves a 0 out): the full path refuses it.
        const w = sub(r, stop);
        weight = -1;
        while (r.pos < w) {
          if (r.uint32() !== UINT32_VALUE) throw NOT_COMMON;
          weight = r.uint32();
        }
        ended(r, w);
      } else {
        throw NOT_COMMON;
      }
    }
    ended(r, stop);
    // A missing name or weight is refused by the full path.
    if (name === '' || weight < 0) throw NOT_COMMON;
    sum += weight;
    out.push({ cluster: name, weight });
  }
  ended(r, end);
  if (out.length === 0 || sum === 0) throw NOT_COMMON;
  return out;
}

/** A hash policy's lower-cased header name ("" for a policy of another kind). */
function readHashHeader(r: WireReader, end: number, shared: SharedParts): string {
  let key = '';
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag === HASH_TERMINAL) {
      r.uint32();
    } else if (tag === HASH_HEADER) {
      const stop = sub(r, end);
      key = '';
      while (r.pos < stop) {
        if (r.uint32() !== HASH_HEADER_NAME) throw NOT_COMMON;
        shared.hashHeader = r.stringLike(stop, shared.hashHeader);
        key = shared.hashHeader.toLowerCase();
      }
      ended(r, stop);
    } else {
      throw NOT_COMMON;
    }
  }
  ended(r, end);
  return key;
}

/** `list` plus the HeaderValueOption at the reader's position, when it has a key. */
function withMutation(
  list: readonly (readonly [string, string])[],
  r: WireReader,
  end: number,
  last: string[],
): readonly (readonly [string, string])[] {
  const at = 2 * list.length;
  let key = '';
  let value = '';
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag === OPTION_APPEND) {
      r.pos = sub(r, end);
    } else if (tag === OPTION_HEADER) {
      // A second header replaces the first, as in the full decode.
      key = '';
      value = '';
      const stop = sub(r, end);
      while (r.pos < stop) {
        const t = r.uint32();
        if (t === HEADER_KEY) key = last[at] = r.stringLike(stop, last[at] ?? '');
        else if (t === HEADER_VALUE) value = last[at + 1] = r.stringLike(stop, last[at + 1] ?? '');
        else throw NOT_COMMON;
      }
      ended(r, stop);
    } else {
      throw NOT_COMMON;
    }
  }
  ended(r, end);
  if (key === '') return list;
  const pair = Object.freeze([key, value] as const);
  return list === EMPTY ? Object.freeze([pair]) : Object.freeze([...list, pair]);
}
