// A route's split of calls over its clusters: one cluster, or weighted
// clusters as running sums of their weights. Immutable, so the routes of a
// table that name the same clusters object share one.
import { MeshError, MeshErrorCode } from '../protocol';
import type { WeightedCluster } from '../config';

/** The names and sums of a single-cluster split: shared, not two new arrays per route (10,000 routes keep 20,000). */
const NONE: readonly string[] = Object.freeze([]);
const NONE_SUMS: readonly number[] = Object.freeze([]);

/** Above this many clusters a binary search beats a linear walk. */
const LINEAR_PICK_MAX = 8;

export class ClusterSplit {
  private constructor(
    private readonly single: string | undefined,
    private readonly names: readonly string[],
    /** Running sums of the weights; empty for a single cluster. */
    private readonly cumulative: readonly number[],
    private readonly total: number,
  ) {}

  /** The split of `clusters` (at least one); throws MeshError CONFIG naming `route` for unusable weights. */
  static of(route: string, clusters: readonly WeightedCluster[]): ClusterSplit {
    const [first] = clusters;
    if (clusters.length === 1 && first !== undefined) return new ClusterSplit(first.cluster, NONE, NONE_SUMS, 0);
    const names: string[] = [];
    const cumulative: number[] = [];
    let sum = 0;
    for (const { cluster, weight: w } of clusters) {
      if (!(Number.isFinite(w) && w >= 0)) {
        throw new MeshError(MeshErrorCode.CONFIG, `route '${route}' gives cluster '${cluster}' weight ${w}; weights must be finite and >= 0`, {
          details: { route, cluster },
        });
      }
      sum += w;
      cumulative.push(sum);
      names.push(cluster);
    }
    if (sum <= 0) {
      throw new MeshError(MeshErrorCode.CONFIG, `route '${route}' has weighted clusters whose weights sum to 0; give at least one a positive weight`, {
        details: { route },
      });
    }
    return new ClusterSplit(undefined, names, cumulative, sum);
  }

  /**
   * Picks a cluster. `random` is uniform in [0, 1); a zero-weight cluster is
   * never picked, as with Envoy's `random % Σweights` walk.
   */
  pick(random: number): string {
    if (this.single !== undefined) return this.single;
    // Per-call path: the `!`s index inside cumulative, and names has the same length.
    const cum = this.cumulative;
    const target = random * this.total;
    const n = cum.length;
    if (n <= LINEAR_PICK_MAX) {
      for (let i = 0; i < n - 1; i++) if (target < cum[i]!) return this.names[i]!;
      return this.lastPositive();
    }
    // First index whose cumulative weight exceeds target.
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (target < cum[mid]!) hi = mid;
      else lo = mid + 1;
    }
    return target < cum[lo]! ? this.names[lo]! : this.lastPositive();
  }

  // Floating-point rounding can leave random * total a hair above the last
  // cumulative value; fall back to the last cluster that can be picked.
  private lastPositive(): string {
    const cum = this.cumulative;
    for (let i = cum.length - 1; i > 0; i--) if (cum[i]! > cum[i - 1]!) return this.names[i]!;
    return this.names[0]!; // a split of several clusters has names
  }
}
