// EndpointCensus: how many clusters of the config in force name each endpoint
// (`address:port`). It is kept up to date from what a new snapshot added and
// dropped, so a change to one cluster costs the size of that cluster, not of
// the mesh; the upstream pool asks it which hosts are still in use only when
// some endpoint's count fell to zero.
import type { ClusterConfig } from '../config/model';

export class EndpointCensus {
  private readonly counts = new Map<string, number>();

  /** Counts in the clusters a snapshot added and out those it dropped; true when some endpoint is now named by none. */
  update(added: readonly ClusterConfig[], dropped: readonly ClusterConfig[]): boolean {
    for (const c of added) for (const e of c.endpoints) {
      const key = `${e.address}:${e.port}`;
      this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    }
    let left = false;
    for (const c of dropped) for (const e of c.endpoints) {
      const key = `${e.address}:${e.port}`;
      const n = (this.counts.get(key) ?? 0) - 1;
      if (n > 0) this.counts.set(key, n);
      else {
        this.counts.delete(key);
        left = true;
      }
    }
    return left;
  }

  /** Whether some cluster in force names `endpoint` (`address:port`). */
  has(endpoint: string): boolean {
    return this.counts.has(endpoint);
  }

  get size(): number {
    return this.counts.size;
  }
}
