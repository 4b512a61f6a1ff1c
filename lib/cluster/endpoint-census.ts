// EndpointCensus: how many clusters of the config in force name each endpoint
// (`address:port`). It is kept up to date from what a new snapshot added and
// dropped, so a change to one cluster costs the size of that cluster, not of
// the mesh; the upstream pool asks it which hosts are still in use only when
// some endpoint's count fell to zero. Counts are plain sums, so updates give
// the same counts in whatever order their steps interleave.
import type { ClusterConfig } from '../config/model';
import { runNow, type Steps } from '../config/sliced-work';

export class EndpointCensus {
  private readonly counts = new Map<string, number>();

  /** Counts in the clusters a snapshot added and out those it dropped; true when some endpoint is now named by none. */
  update(added: readonly ClusterConfig[], dropped: readonly ClusterConfig[]): boolean {
    return runNow(this.updateSteps(added, dropped));
  }

  /** update() in steps, one per cluster, for runSliced. */
  *updateSteps(added: readonly ClusterConfig[], dropped: readonly ClusterConfig[]): Steps<boolean> {
    for (const c of added) {
      for (const e of c.endpoints) this.add(`${e.address}:${e.port}`, 1);
      yield;
    }
    let left = false;
    for (const c of dropped) {
      for (const e of c.endpoints) if (this.add(`${e.address}:${e.port}`, -1) <= 0) left = true;
      yield;
    }
    return left;
  }

  /** Whether some cluster in force names `endpoint` (`address:port`). */
  has(endpoint: string): boolean {
    return (this.counts.get(endpoint) ?? 0) > 0;
  }

  private add(key: string, n: number): number {
    const count = (this.counts.get(key) ?? 0) + n;
    if (count === 0) this.counts.delete(key);
    else this.counts.set(key, count);
    return count;
  }
}
