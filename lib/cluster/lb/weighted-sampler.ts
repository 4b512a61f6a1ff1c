// WeightedSampler: the weighted draw RANDOM and LEAST_REQUEST are built on.
// `draw` picks an endpoint index with probability weight/total in O(1)
// (Vose's alias table; one uniform index when the weights are equal);
// `sample` draws again past unavailable and still-warming hosts, which keeps
// the distribution exact over the rest, and scans when most hosts are out.
import { aliasTable } from './alias-table';
import type { PickContext } from './load-balancer';
import type { SlowStart } from './slow-start';

/** Draws before falling back to a scan; a miss this long means most hosts are out. */
const MAX_DRAWS = 48;

export class WeightedSampler {
  readonly n: number;
  /** Every weight is the same: a draw is one uniform index. */
  readonly uniform: boolean;
  /** Alias method: column i keeps i with probability keep[i], else gives alias[i]. */
  private readonly keep: Float64Array;
  private readonly alias: Int32Array;

  constructor(
    /** Each endpoint's weight (>= 1). */
    weights: Float64Array,
    private readonly random: () => number,
    private readonly slowStart: SlowStart | undefined,
  ) {
    this.n = weights.length;
    this.uniform = weights.every((w) => w === weights[0]);
    const table = aliasTable(this.uniform ? new Float64Array(0) : weights);
    this.keep = table.keep;
    this.alias = table.alias;
  }

  /** One draw in proportion to weight, ignoring availability. */
  draw(): number {
    const r = this.random() * this.n;
    const i = r | 0;
    if (this.uniform) return i;
    return r - i < this.keep[i]! ? i : this.alias[i]!;
  }

  /** One weighted draw among available hosts, thinned by slow start; -1 when none is available. */
  sample(context: PickContext | undefined): number {
    const n = this.n;
    if (n === 0) return -1;
    const available = context?.isAvailable;
    const slowStart = this.slowStart;
    const addedAt = context?.addedAt;
    for (let tries = 0; tries < MAX_DRAWS; tries++) {
      const i = this.draw();
      if (available !== undefined && !available(i)) continue;
      if (slowStart !== undefined && addedAt !== undefined) {
        const f = slowStart.factor(i, addedAt);
        if (f < 1 && this.random() >= f) continue;
      }
      return i;
    }
    if (available === undefined) return this.draw();
    // Few hosts left: scan from a random start so the survivors still share the load.
    const start = (this.random() * n) | 0;
    for (let k = 0; k < n; k++) {
      const i = start + k < n ? start + k : start + k - n;
      if (available(i)) return i;
    }
    return -1;
  }
}
