// A Snapshot built in a worker thread, moved to the main thread in parts.
// Copying a message between threads (structured clone) builds its whole
// object graph on the receiving side in one go, so a 100k-endpoint snapshot
// sent as one message would hold the main loop for a long time. Each part
// here carries at most about PART_UNITS endpoints or routes; the receiver
// rebuilds and freezes a part in steps of ENDPOINTS_PER_STEP (addSteps, in
// runSliced's slices) and asks for the next as it takes one (parse-worker.ts
// keeps a few in flight), so no turn of the loop holds more than a slice.
//
// Endpoints travel once each, in their own parts; a cluster names its
// endpoints by number. That keeps an endpoint the whole-service cluster and a
// subset cluster share one object, as buildSnapshot made it. Endpoint parts
// are columns (addresses, ports, weights, label sets by number): copying
// them and building the frozen endpoints from them costs the main thread a
// fraction of what copying a thousand objects does. Equal label sets and
// localities become one frozen object.

import { alignEndpoints } from './endpoint-alignment';
import { type ClusterConfig, type Endpoint, type Locality, type RouteConfig, type Service, type Snapshot, serviceKey } from './model';
import { runNow, type Steps } from './sliced-work';

/** Endpoints or routes per part: a part is read and frozen in a few milliseconds. */
export const PART_UNITS = 1000;

/** Endpoints (or references to them) SnapshotAssembly.addSteps rebuilds or compares between two points where it may yield. */
const ENDPOINTS_PER_STEP = 128;

type ClusterPart = Omit<ClusterConfig, 'endpoints'> & { readonly endpoints: Uint32Array };

type Labels = Readonly<Record<string, string>>;

interface EndpointColumns {
  readonly kind: 'endpoints';
  readonly addresses: readonly string[];
  /**
   * Integer columns: an element read from a Float64Array is a boxed number,
   * and storing one in an endpoint made its port and weight fields boxed
   * doubles, two more heap objects per endpoint for every young collection
   * to copy. A Uint32Array element is a small integer.
   */
  readonly ports: Uint32Array;
  readonly weights: Uint32Array;
  /** Index into the label sets sent so far (this part's `labelSets` appended). */
  readonly labels: Uint32Array;
  /** 0: none; else 1 + index into the localities sent so far. */
  readonly localities: Uint32Array;
  readonly labelSets: readonly Labels[];
  readonly localitySets: readonly Locality[];
  /** Endpoints of a shape the columns do not carry (a field beyond address, port, labels, weight, locality), sent whole. */
  readonly whole: readonly (readonly [number, Endpoint])[];
}

export type SnapshotPart =
  | EndpointColumns
  | { readonly kind: 'clusters'; readonly clusters: readonly ClusterPart[] }
  | { readonly kind: 'services'; readonly services: readonly Service[] }
  | { readonly kind: 'routeConfigs'; readonly routeConfigs: readonly RouteConfig[] }
  | { readonly kind: 'rest'; readonly rest: Pick<Snapshot, 'version' | 'security' | 'redis' | 'warnings'> };

/**
 * The parts of `snapshot`, in an order SnapshotAssembly rebuilds it from.
 * An endpoint object that several clusters of one host and port name (a
 * service and its subsets: service-catalog.ts makes each host and port's
 * endpoints once and its subsets pick from them) is sent once and rebuilt
 * as one object; clusters of different hosts or ports never share endpoint
 * objects in a snapshot the parser builds, so they are not looked for there:
 * a Map of every endpoint object was ~40% of this thread's encoding time at
 * 100k endpoints, and the thread's encoding is what the main thread waits for.
 */
export function* snapshotParts(snapshot: Snapshot, units = PART_UNITS): Generator<SnapshotPart, void, void> {
  const columns = new EndpointEncoder();
  const groups = new Map<string, SharingGroup>();
  let sent = 0;
  let endpoints: Endpoint[] = [];
  let clusters: ClusterPart[] = [];
  let clusterUnits = 0;
  for (const cluster of snapshot.clusters.values()) {
    const list = cluster.endpoints;
    const refs = new Uint32Array(list.length);
    const key = `${cluster.port}|${cluster.host}`;
    const group = groups.get(key);
    // Positions from `fresh` on name endpoints the group has not sent (all of them, in the group's first cluster).
    const fresh = group === undefined ? 0 : group.match(list, refs);
    for (let i = fresh; i < list.length; i++) {
      const e = list[i]!; // i < its length
      let id = group?.idOf(e);
      if (id === undefined) {
        id = sent++;
        group?.add(e, id);
        endpoints.push(e);
        if (endpoints.length >= units) {
          yield columns.encode(endpoints);
          endpoints = [];
        }
      }
      refs[i] = id;
    }
    if (group === undefined) groups.set(key, new SharingGroup(list, refs));
    clusters.push({ ...cluster, endpoints: refs });
    // A reference costs the receiver a fraction of what an endpoint does, but on a reload each is aligned with and
    // compared to the endpoint in force (SnapshotAssembly.shareEndpoints): a part of 16k references took 36 ms there,
    // one of 4k 6-12 ms when the endpoints could be shared, so a reference counts as a unit (~1,000 a part: 3-5 ms).
    clusterUnits += 1 + refs.length;
    if (clusterUnits >= units) {
      // Endpoints first: a cluster part only names endpoints already sent.
      if (endpoints.length > 0) yield columns.encode(endpoints);
      endpoints = [];
      yield { kind: 'clusters', clusters };
      clusters = [];
      clusterUnits = 0;
    }
  }
  if (endpoints.length > 0) yield columns.encode(endpoints);
  if (clusters.length > 0) yield { kind: 'clusters', clusters };

  const services = [...snapshot.services.values()];
  for (let i = 0; i < services.length; i += units) yield { kind: 'services', services: services.slice(i, i + units) };

  let routeConfigs: RouteConfig[] = [];
  let routes = 0;
  for (const config of snapshot.routeConfigs.values()) {
    routeConfigs.push(config);
    routes += 1 + config.routes.length;
    if (routes >= units) {
      yield { kind: 'routeConfigs', routeConfigs };
      routeConfigs = [];
      routes = 0;
    }
  }
  if (routeConfigs.length > 0) yield { kind: 'routeConfigs', routeConfigs };

  const { version, security, redis, warnings } = snapshot;
  yield { kind: 'rest', rest: { version, warnings, ...(security === undefined ? {} : { security }), ...(redis === undefined ? {} : { redis }) } };
}

/**
 * Rebuilds a Snapshot from its parts, each frozen as it arrives (a model
 * object is immutable). Given the snapshot in force, it keeps that
 * snapshot's objects wherever the new one holds equal ones: an endpoint
 * equal to one in its cluster's list before (shareEndpoints) is that
 * object, and a cluster whose endpoints all are, at the same places, and
 * whose other fields are equal, is the cluster config object in force. A
 * reload of a large file then keeps few new objects (the young collections
 * that run while it is rebuilt have little to copy), and the mesh keeps the
 * Cluster, balancer and endpoint counts of every cluster the edit did not
 * touch, as it does for xDS.
 */
export class SnapshotAssembly {
  private readonly endpoints: Endpoint[] = [];
  private readonly labelSets: Labels[] = [];
  private readonly localitySets: Locality[] = [];
  private readonly clusters = new Map<string, ClusterConfig>();
  private readonly services = new Map<string, Service>();
  private readonly routeConfigs = new Map<string, RouteConfig>();
  private rest: Pick<Snapshot, 'version' | 'security' | 'redis' | 'warnings'> | undefined;

  /** @param current The snapshot in force, whose equal objects the new one shares. */
  constructor(private readonly current?: Snapshot) {}

  add(part: SnapshotPart): void {
    runNow(this.addSteps(part));
  }

  /**
   * add() in steps of about ENDPOINTS_PER_STEP endpoints (or endpoint
   * references), for runSliced: a part of a thousand endpoints took 0.5-3 ms
   * in one step, longer than the slice while calls are in flight.
   */
  *addSteps(part: SnapshotPart): Steps<void> {
    switch (part.kind) {
      case 'endpoints':
        yield* this.addEndpoints(part);
        return;
      case 'clusters':
        for (const c of part.clusters) {
          // A plain loop into a list of the right length: Array.from with a mapping function over the typed array
          // took ~0.3 µs an endpoint (33 ms per 100k-endpoint start, in steps of up to a thousand).
          const ids = c.endpoints;
          const endpoints = new Array<Endpoint>(ids.length);
          for (let i = 0; i < ids.length; i++) {
            const id = ids[i] ?? 0;
            const e = this.endpoints[id];
            if (e === undefined) throw new Error(`cluster ${c.name} names endpoint ${id}, which was not sent`);
            endpoints[i] = e;
          }
          yield;
          const before = this.current?.clusters.get(c.name);
          if (before !== undefined && (yield* this.shareEndpoints(ids, endpoints, before.endpoints)) && sameClusterFields(c, before)) {
            this.clusters.set(c.name, before);
            continue;
          }
          // The endpoints are frozen already (their part froze them): freezing the list stops deepFreeze there.
          this.clusters.set(c.name, deepFreeze({ ...c, endpoints: Object.freeze(endpoints) }));
        }
        return;
      case 'services':
        for (const s of part.services) this.services.set(serviceKey(s.host, s.port), deepFreeze(s));
        return;
      case 'routeConfigs':
        for (const r of part.routeConfigs) this.routeConfigs.set(r.name, deepFreeze(r));
        return;
      case 'rest':
        this.rest = deepFreeze(part.rest);
        return;
    }
  }

  /**
   * Puts the endpoint in force in place of each equal one (also for the
   * clusters still to come that name it). The lists are first matched in
   * order by address and port (alignEndpoints: a regenerated file shifts
   * every endpoint after one added or removed, and a place-by-place
   * comparison found nothing in common): a matched pair is shared when the
   * endpoints are equal. An endpoint whose host was not matched so (one
   * moved further than alignEndpoints looks) is shared with an equal one
   * in force that was not matched either, found by address. Each endpoint
   * in force stands in for one new endpoint at most. True when every
   * endpoint of the list was the one at its place and the lists are as long:
   * the list is the one in force.
   */
  private *shareEndpoints(ids: Uint32Array, endpoints: Endpoint[], before: readonly Endpoint[]): Steps<boolean> {
    // One pass with no comparison of hosts when the list is the one in force already (the reload's untouched clusters).
    let same = endpoints.length === before.length;
    for (let i = 0; same && i < endpoints.length; i++) same = endpoints[i] === before[i];
    if (same) return true;
    const { matchedBefore, matchedAfter } = yield* alignEndpoints(before, endpoints);
    let all = endpoints.length === before.length;
    let left: number[] | undefined;
    let j = 0;
    for (let i = 0; i < endpoints.length; i++) {
      if (i % ENDPOINTS_PER_STEP === ENDPOINTS_PER_STEP - 1) yield;
      const e = endpoints[i]!; // i < length
      if (matchedAfter[i] !== 1) {
        all = false;
        (left ??= []).push(i);
        continue;
      }
      // Matches keep both lists' order: the next matched endpoint in force is this one's.
      while (matchedBefore[j] !== 1) j++;
      const b = before[j]!; // j < before.length: as many matched there as here
      if (e === b || sameEndpoint(e, b)) {
        if (e !== b) this.share(ids, endpoints, i, b);
        if (i !== j) all = false;
      } else {
        // The same host with another weight, labels or locality: a changed endpoint, new. (Not looked for elsewhere:
        // a regenerated file whose labels all moved with their places made that a Map of 100k addresses and
        // 100k vain comparisons, 40-60 ms of a reload.)
        all = false;
      }
      j++;
    }
    if (left === undefined) return all;
    // Endpoints in force that no endpoint of the list matched by host, by address: the first one's place, and each one's next.
    const firstAt = new Map<string, number>();
    const nextAt = new Int32Array(before.length).fill(-1);
    for (let k = before.length - 1; k >= 0; k--) {
      if (matchedBefore[k] === 1) continue;
      const b = before[k]!; // 0 <= k < before.length
      const next = firstAt.get(b.address);
      if (next !== undefined) nextAt[k] = next;
      firstAt.set(b.address, k);
    }
    yield;
    for (const [k, i] of left.entries()) {
      if (k % ENDPOINTS_PER_STEP === ENDPOINTS_PER_STEP - 1) yield;
      const e = endpoints[i]!; // left holds places of the list
      // Along the chain of the address's places, unlinking the one taken.
      let prev = -1;
      for (let at = firstAt.get(e.address) ?? -1; at >= 0; prev = at, at = nextAt[at] ?? -1) {
        const b = before[at]!; // a place of `before`
        if (!sameEndpoint(e, b)) continue;
        this.share(ids, endpoints, i, b);
        const next = nextAt[at] ?? -1;
        if (prev >= 0) nextAt[prev] = next;
        else if (next >= 0) firstAt.set(e.address, next);
        else firstAt.delete(e.address);
        break;
      }
    }
    return false;
  }

  private share(ids: Uint32Array, endpoints: Endpoint[], i: number, b: Endpoint): void {
    endpoints[i] = b;
    this.endpoints[ids[i] ?? 0] = b;
  }

  private *addEndpoints(part: EndpointColumns): Steps<void> {
    const labelSets = this.labelSets;
    const localitySets = this.localitySets;
    for (const l of part.labelSets) labelSets.push(Object.freeze(l));
    for (const l of part.localitySets) localitySets.push(Object.freeze(l));
    const { addresses, ports, weights, labels: labelIds, localities, whole } = part;
    const n = addresses.length;
    if (ports.length !== n || weights.length !== n || labelIds.length !== n || localities.length !== n) throw new Error('an endpoint part has columns of different lengths');
    const out = this.endpoints;
    // `whole` is in position order: the next one sent whole, and where it goes.
    let w = 0;
    let wholeAt = whole.length > 0 ? whole[0]![0] : -1;
    for (let i = 0; i < n; i++) {
      if (i % ENDPOINTS_PER_STEP === ENDPOINTS_PER_STEP - 1) yield;
      const address = addresses[i]!; // i < n
      if (i === wholeAt) {
        out.push(deepFreeze(whole[w]![1])); // w < whole.length while wholeAt >= 0
        w++;
        wholeAt = w < whole.length ? whole[w]![0] : -1;
        continue;
      }
      const labels = labelSets[labelIds[i]!]; // i < n, the length of every column
      const l = localities[i]!;
      const locality = l === 0 ? undefined : localitySets[l - 1];
      if (labels === undefined || (l !== 0 && locality === undefined)) throw new Error(`endpoint ${address} names a label set or locality that was not sent`);
      const port = ports[i]!;
      const weight = weights[i]!;
      // Two literals rather than a spread: no throw-away object per endpoint, and V8 can see where they are made.
      out.push(Object.freeze(locality === undefined ? { address, port, labels, weight } : { address, port, labels, weight, locality }));
    }
    if (w !== whole.length) throw new Error(`an endpoint part names position ${wholeAt} beyond its ${n} endpoints`);
  }

  /** The snapshot, once the last part (`rest`) has arrived. */
  finish(): Snapshot {
    if (this.rest === undefined) throw new Error('the snapshot ended before its last part');
    const { version, security, redis, warnings } = this.rest;
    return Object.freeze({
      version,
      services: this.services,
      clusters: this.clusters,
      routeConfigs: this.routeConfigs,
      ...(security === undefined ? {} : { security }),
      ...(redis === undefined ? {} : { redis }),
      warnings,
    });
  }
}

/** Equal endpoints: the same address, port, weight and health, equal labels and locality, and no other field. */
function sameEndpoint(a: Endpoint, b: Endpoint): boolean {
  // The field counts last: the fields compared first tell most differences apart, and cheaper.
  if (!(a.address === b.address && a.port === b.port && a.weight === b.weight && a.healthy === b.healthy)) return false;
  if (!(sameFlat(a.labels, b.labels) && sameFlat(a.locality, b.locality))) return false;
  const fields = comparedFieldCount(a);
  return fields >= 0 && fields === comparedFieldCount(b);
}

/**
 * How many fields `e` has, or -1 when one of them is not a field
 * sameEndpoint compares (address, port, labels, weight, locality, healthy):
 * an endpoint with any other is never taken for an equal one. Compared as
 * names, not looked up in a Set: it runs twice for each endpoint of a reload.
 */
function comparedFieldCount(e: Endpoint): number {
  let n = 0;
  for (const k in e) {
    if (k !== 'address' && k !== 'port' && k !== 'labels' && k !== 'weight' && k !== 'locality' && k !== 'healthy') return -1;
    n++;
  }
  return n;
}

/** Two flat objects of strings (labels, a locality) with the same keys and values, or both absent. */
function sameFlat(a: Readonly<Record<string, string>> | Locality | undefined, b: Readonly<Record<string, string>> | Locality | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined) return false;
  const x = a as Readonly<Record<string, unknown>>;
  const y = b as Readonly<Record<string, unknown>>;
  let n = 0;
  for (const k in x) {
    if (x[k] !== y[k]) return false;
    n++;
  }
  return n === fieldCount(y);
}

function fieldCount(o: object): number {
  let n = 0;
  for (const _ in o) n++;
  return n;
}

/** A cluster part and a cluster config equal in every field but their endpoints (compared apart). */
function sameClusterFields(part: ClusterPart, before: ClusterConfig): boolean {
  const withoutEndpoints = (key: string, value: unknown) => (key === 'endpoints' ? undefined : value);
  return JSON.stringify(part, withoutEndpoints) === JSON.stringify(before, withoutEndpoints);
}

/** The fields the columns carry, in the order an endpoint holds them (locality may be absent). */
const COLUMN_FIELDS = ['address', 'port', 'labels', 'weight', 'locality'];

/**
 * Whether an endpoint has exactly the fields the columns carry (address,
 * port, labels, weight, and maybe locality), in that order, and a port and
 * weight a Uint32Array holds. Walked with for-in: Object.keys made an array
 * per endpoint, young garbage for the thread's collector.
 */
function fitsColumns(e: Endpoint): boolean {
  let n = 0;
  for (const k in e) {
    if (k !== COLUMN_FIELDS[n]) return false;
    n++;
  }
  return n >= 4 && isUint32(e.port) && isUint32(e.weight);
}

function isUint32(n: number): boolean {
  return n >>> 0 === n;
}

/**
 * The endpoints sent for the clusters of one host and port. A later cluster
 * of the group (a subset) is matched against the first (the whole service)
 * in one pass, since a subset lists its endpoints in the service's order;
 * only when that fails are the group's endpoints put in a Map.
 */
class SharingGroup {
  /** The group's endpoints by object, made when a list does not follow the first one's order. */
  private ids: Map<Endpoint, number> | undefined;

  constructor(
    private readonly first: readonly Endpoint[],
    private readonly firstRefs: Uint32Array,
  ) {}

  /**
   * Fills `refs` with the ids of `list`'s endpoints as long as they are the
   * first cluster's, in its order; returns the position where that stops
   * (the list's length when it never does). Every endpoint matched so is the
   * first cluster's: only those after the stop can be new to the group.
   */
  match(list: readonly Endpoint[], refs: Uint32Array): number {
    if (this.ids !== undefined) return 0;
    const first = this.first;
    let j = 0;
    for (let i = 0; i < list.length; i++) {
      const e = list[i];
      while (j < first.length && first[j] !== e) j++;
      if (j === first.length) {
        const ids = new Map<Endpoint, number>();
        for (let k = 0; k < first.length; k++) if (!ids.has(first[k]!)) ids.set(first[k]!, this.firstRefs[k]!); // k < length
        this.ids = ids;
        return i;
      }
      refs[i] = this.firstRefs[j]!; // j < first.length = firstRefs.length
      j++;
    }
    return list.length;
  }

  /** The id of an endpoint the group sent, once match() has stopped short. */
  idOf(e: Endpoint): number | undefined {
    return this.ids?.get(e);
  }

  add(e: Endpoint, id: number): void {
    this.ids?.set(e, id);
  }
}

/** Endpoints into columns; label sets and localities numbered across parts, each sent once. */
class EndpointEncoder {
  private readonly labelIds = { byJson: new Map<string, number>(), byObject: new Map<object, number>() };
  private readonly localityIds = { byJson: new Map<string, number>(), byObject: new Map<object, number>() };

  encode(endpoints: readonly Endpoint[]): EndpointColumns {
    const n = endpoints.length;
    const part = {
      kind: 'endpoints' as const,
      addresses: new Array<string>(n),
      ports: new Uint32Array(n),
      weights: new Uint32Array(n),
      labels: new Uint32Array(n),
      localities: new Uint32Array(n),
      labelSets: [] as Labels[],
      localitySets: [] as Locality[],
      whole: [] as [number, Endpoint][],
    };
    for (let i = 0; i < n; i++) {
      const e = endpoints[i]!; // i < n
      part.addresses[i] = e.address;
      if (!fitsColumns(e)) {
        part.whole.push([i, e]);
        continue;
      }
      part.ports[i] = e.port;
      part.weights[i] = e.weight;
      part.labels[i] = this.id(this.labelIds, e.labels, part.labelSets);
      if (e.locality !== undefined) part.localities[i] = 1 + this.id(this.localityIds, e.locality, part.localitySets);
    }
    return part;
  }

  /** The number of `value`: by object first (the snapshot builder shares one object per distinct set, label-sets.ts), then by its JSON. */
  private id<T extends object>(ids: { byJson: Map<string, number>; byObject: Map<object, number> }, value: T, added: T[]): number {
    let id = ids.byObject.get(value);
    if (id !== undefined) return id;
    const key = JSON.stringify(value);
    id = ids.byJson.get(key);
    if (id === undefined) {
      id = ids.byJson.size;
      ids.byJson.set(key, id);
      added.push(value);
    }
    ids.byObject.set(value, id);
    return id;
  }
}

/** Freezes plain objects and arrays all the way down (maps stay maps; their values are frozen). */
function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  if (value instanceof Map) {
    for (const v of value.values()) deepFreeze(v);
    return value;
  }
  if (ArrayBuffer.isView(value)) return value;
  for (const v of Object.values(value)) deepFreeze(v);
  return Object.freeze(value);
}
