// EndpointCensus: how many clusters of the config in force name each endpoint
// (`address:port`). It is kept up to date from what a new snapshot added and
// dropped, so a change to one cluster costs the size of that cluster, not of
// the mesh; the upstream pool asks it which hosts are still in use only when
// some endpoint's count fell to zero. Counts are plain sums, so updates give
// the same counts in whatever order their steps interleave.
//
// Two things keep a large config cheap to count:
// - A cluster replaced by one of the same name (a reload, an EDS update)
//   counts only the endpoints that changed: one that both lists name
//   (alignEndpoints) would be counted in and out again, a sum of zero.
// - Clusters that only come in (a mesh's first config) can be counted later
//   (defer): adding never makes an endpoint leave, so nothing needs the counts
//   until the next update or lookup, which count them first. The mesh counts
//   them in slices after its start has resolved.
import type { ClusterConfig } from '../config/model';
import { runNow, type Steps } from '../config/sliced-work';
import { alignEndpoints } from '../config/endpoint-alignment';
import { Ipv4EndpointCounts, parseIpv4 } from './ipv4-endpoint-counts';

export class EndpointCensus {
  /**
   * IPv4 endpoints (address in canonical dotted form, port 0-65535): counted
   * in typed arrays, off the V8 heap, so the young collections that run
   * while an update applies have no census tables to copy (at 100k
   * endpoints its Maps were ~3.9 MB, ~38 B per endpoint).
   */
  private readonly ipv4 = new Ipv4EndpointCounts();
  /**
   * Every other endpoint (DNS names, IPv6, other ports): by port, then by the
   * model's own address string, so counting allocates no `address:port`
   * string per endpoint.
   */
  private readonly others = new Map<number, Map<string, number>>();
  /** Clusters to count in that are not counted yet (defer), from `deferredAt` (cluster, endpoint) on. */
  private deferred: ClusterConfig[] = [];
  private deferredAt = { cluster: 0, endpoint: 0 };
  /** Endpoints in the deferred clusters, for reserve(). */
  private deferredEndpoints = 0;

  /** Counts in the clusters a snapshot added and out those it dropped; true when some endpoint is now named by none. */
  update(added: readonly ClusterConfig[], dropped: readonly ClusterConfig[]): boolean {
    return runNow(this.updateSteps(added, dropped));
  }

  /**
   * update() in steps of at most STEP_ENDPOINTS endpoints, for runSliced. A
   * cluster of `added` and one of `dropped` with the same name are counted
   * by their difference: the endpoints alignEndpoints matches between their
   * lists would be counted in and out again, a sum of zero, and are skipped.
   */
  *updateSteps(added: readonly ClusterConfig[], dropped: readonly ClusterConfig[]): Steps<boolean> {
    yield* this.countDeferredSteps();
    const pairs = pairByName(added, dropped);
    /** For each dropped cluster with a pair, which of its endpoints the pair also names. */
    const keptOf = new Map<ClusterConfig, Uint8Array>();
    let budget = STEP_ENDPOINTS;
    for (const c of added) {
      const before = pairs.get(c);
      let kept: Uint8Array | undefined;
      if (before !== undefined) {
        const alignment = yield* alignEndpoints(before.endpoints, c.endpoints);
        keptOf.set(before, alignment.matchedBefore);
        kept = alignment.matchedAfter;
      }
      const list = c.endpoints;
      for (let i = 0; i < list.length; i++) {
        const e = list[i]!; // i < length
        if (kept?.[i] !== 1) this.add(e.address, e.port, 1);
        if (--budget === 0) {
          yield;
          budget = STEP_ENDPOINTS;
        }
      }
    }
    let left = false;
    for (const c of dropped) {
      const kept = keptOf.get(c);
      const list = c.endpoints;
      for (let i = 0; i < list.length; i++) {
        const e = list[i]!; // i < length
        if (kept?.[i] !== 1 && this.add(e.address, e.port, -1) <= 0) left = true;
        if (--budget === 0) {
          yield;
          budget = STEP_ENDPOINTS;
        }
      }
    }
    // A doubling the adds left half done is finished here, so lookups go back to probing one table.
    while (this.ipv4.move(MOVE_STEP)) yield;
    return left;
  }

  /**
   * Takes `added` to count in later: by countDeferredSteps, or first thing in
   * the next update or lookup. For clusters that only come in (nothing
   * dropped), whose counting can wait because no endpoint can leave by it.
   */
  defer(added: readonly ClusterConfig[]): void {
    for (const c of added) {
      this.deferred.push(c);
      this.deferredEndpoints += c.endpoints.length;
    }
  }

  /** Whether clusters wait to be counted in (defer). */
  get hasDeferred(): boolean {
    return this.deferred.length > 0;
  }

  /** Counts in the deferred clusters, STEP_ENDPOINTS endpoints a step; several of these may run at once (they share the work). */
  *countDeferredSteps(): Steps<void> {
    if (this.deferred.length === 0) return;
    // Into an empty census, the table is made big enough at once: no doubling or moving while it fills.
    if (this.ipv4.size === 0 && this.others.size === 0) this.ipv4.reserve(this.deferredEndpoints);
    for (;;) {
      let budget = STEP_ENDPOINTS;
      const at = this.deferredAt;
      for (let c = this.deferred[at.cluster]; c !== undefined && budget > 0; c = this.deferred[at.cluster]) {
        const list = c.endpoints;
        const end = Math.min(list.length, at.endpoint + budget);
        for (let i = at.endpoint; i < end; i++) {
          const e = list[i]!; // i < end <= length
          this.add(e.address, e.port, 1);
        }
        budget -= end - at.endpoint;
        if (end < list.length) at.endpoint = end;
        else {
          at.cluster++;
          at.endpoint = 0;
        }
      }
      if (at.cluster >= this.deferred.length) {
        // All counted (here or by another of these running beside it): the census holds no cluster config any more.
        this.deferred = [];
        this.deferredAt = { cluster: 0, endpoint: 0 };
        this.deferredEndpoints = 0;
        return;
      }
      yield;
    }
  }

  /** Whether some cluster in force names `endpoint` (`address:port`). */
  has(endpoint: string): boolean {
    // Normally counted by now (the mesh counts deferred clusters first thing after its start, and each update does).
    if (this.deferred.length > 0) runNow(this.countDeferredSteps());
    const colon = endpoint.lastIndexOf(':');
    if (colon < 0) return false;
    const port = Number(endpoint.slice(colon + 1));
    const ipv4 = isPort(port) ? parseIpv4(endpoint, 0, colon) : -1;
    if (ipv4 >= 0) return this.ipv4.get(ipv4, port) > 0;
    return (this.others.get(port)?.get(endpoint.slice(0, colon)) ?? 0) > 0;
  }

  private add(address: string, port: number, n: number): number {
    const ipv4 = isPort(port) ? parseIpv4(address, 0, address.length) : -1;
    if (ipv4 >= 0) return this.ipv4.add(ipv4, port, n);
    let byAddress = this.others.get(port);
    if (byAddress === undefined) {
      byAddress = new Map<string, number>();
      this.others.set(port, byAddress);
    }
    const count = (byAddress.get(address) ?? 0) + n;
    if (count !== 0) byAddress.set(address, count);
    else if (byAddress.delete(address) && byAddress.size === 0) this.others.delete(port);
    return count;
  }
}

/**
 * Endpoints counted per step (0.1-0.5 ms of work, more in a new process whose
 * code is not optimised yet): no longer than a slice while calls are in
 * flight (BUSY_SLICE_MS); steps of 1,024 were 1-5 ms.
 */
const STEP_ENDPOINTS = 256;

/** Old slots moved per step after an update (about 0.3 ms of work). */
const MOVE_STEP = 1 << 14;

/**
 * Each cluster of `added` and the cluster of `dropped` with its name, both
 * ways; only names that appear once on each side are paired, so every
 * cluster is in at most one pair.
 */
function pairByName(added: readonly ClusterConfig[], dropped: readonly ClusterConfig[]): Map<ClusterConfig, ClusterConfig> {
  const pairs = new Map<ClusterConfig, ClusterConfig>();
  if (added.length === 0 || dropped.length === 0) return pairs;
  const byName = new Map<string, ClusterConfig | null>();
  for (const c of dropped) byName.set(c.name, byName.has(c.name) ? null : c);
  const taken = new Map<string, ClusterConfig | null>();
  for (const c of added) taken.set(c.name, taken.has(c.name) ? null : c);
  for (const [name, a] of taken) {
    const d = byName.get(name);
    if (a === null || d === null || d === undefined) continue;
    pairs.set(a, d);
    pairs.set(d, a);
  }
  return pairs;
}

function isPort(port: number): boolean {
  return port >= 0 && port <= 0xffff && Number.isInteger(port);
}
