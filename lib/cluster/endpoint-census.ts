// EndpointCensus: how many clusters of the config in force name each endpoint
// (`address:port`). It is kept up to date from what a new snapshot added and
// dropped, so a change to one cluster costs the size of that cluster, not of
// the mesh; the upstream pool asks it which hosts are still in use only when
// some endpoint's count fell to zero. Counts are plain sums, so updates give
// the same counts in whatever order their steps interleave.
import type { ClusterConfig } from '../config/model';
import { runNow, type Steps } from '../config/sliced-work';

export class EndpointCensus {
  /**
   * Counts by port, then by address in one of SHARDS maps: keyed by the
   * model's own address strings, so counting 100k endpoints allocates no
   * `address:port` string each (strings that outlive the update are copied
   * by every young collection while it runs), and no map grows so big that
   * rehashing it (when it doubles) is one long step.
   */
  private readonly counts = new Map<number, { readonly shards: Map<string, number>[]; size: number }>();

  /** Counts in the clusters a snapshot added and out those it dropped; true when some endpoint is now named by none. */
  update(added: readonly ClusterConfig[], dropped: readonly ClusterConfig[]): boolean {
    return runNow(this.updateSteps(added, dropped));
  }

  /** update() in steps, one per cluster, for runSliced. */
  *updateSteps(added: readonly ClusterConfig[], dropped: readonly ClusterConfig[]): Steps<boolean> {
    for (const c of added) {
      for (const e of c.endpoints) this.add(e.address, e.port, 1);
      yield;
    }
    let left = false;
    for (const c of dropped) {
      for (const e of c.endpoints) if (this.add(e.address, e.port, -1) <= 0) left = true;
      yield;
    }
    return left;
  }

  /** Whether some cluster in force names `endpoint` (`address:port`). */
  has(endpoint: string): boolean {
    const colon = endpoint.lastIndexOf(':');
    if (colon < 0) return false;
    const address = endpoint.slice(0, colon);
    return (this.counts.get(Number(endpoint.slice(colon + 1)))?.shards[shardOf(address)]?.get(address) ?? 0) > 0;
  }

  private add(address: string, port: number, n: number): number {
    let entry = this.counts.get(port);
    if (entry === undefined) {
      entry = { shards: Array.from({ length: SHARDS }, () => new Map<string, number>()), size: 0 };
      this.counts.set(port, entry);
    }
    const byAddress = entry.shards[shardOf(address)];
    if (byAddress === undefined) return 0; // shardOf is always below SHARDS
    const before = byAddress.get(address);
    const count = (before ?? 0) + n;
    if (count === 0) {
      byAddress.delete(address);
      if (--entry.size === 0) this.counts.delete(port);
    } else {
      if (before === undefined) entry.size++;
      byAddress.set(address, count);
    }
    return count;
  }
}

const SHARDS = 64;

/** A cheap spread of addresses over the shards, from their last three characters (IP addresses differ there most). */
function shardOf(address: string): number {
  const n = address.length;
  return ((address.charCodeAt(n - 1) || 0) * 961 + (address.charCodeAt(n - 2) || 0) * 31 + (address.charCodeAt(n - 3) || 0)) & (SHARDS - 1);
}
