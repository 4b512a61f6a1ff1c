// RANDOM: each pick draws an endpoint with probability weight/total in O(1)
// (Vose's alias method, built once). Unavailable or still-warming hosts are
// handled by drawing again, which keeps the distribution exact over the rest.
import type { Endpoint } from '../../config/model';
import type { LbOptions, LbRuntime } from './lb-options';
import type { LoadBalancer, PickContext } from './load-balancer';
import { aliasTable } from './alias-table';
import { SlowStart } from './slow-start';

/** Draws before falling back to a scan; a miss this long means most hosts are out. */
const MAX_DRAWS = 48;

export class WeightedRandom implements LoadBalancer {
  private readonly n: number;
  private readonly uniform: boolean;
  /** Alias method: column i keeps i with probability keep[i], else gives alias[i]. */
  private readonly keep: Float64Array;
  private readonly alias: Int32Array;
  private readonly random: () => number;
  private readonly slowStart: SlowStart | undefined;

  constructor(endpoints: readonly Endpoint[], options: LbOptions = {}, runtime: LbRuntime = {}) {
    const n = endpoints.length;
    this.n = n;
    this.random = runtime.random ?? Math.random;
    this.slowStart = SlowStart.of(n, options.slowStart, runtime.now ?? performance.now.bind(performance));
    const weights = endpoints.map((e) => Math.max(1, e.weight));
    this.uniform = weights.every((w) => w === weights[0]);
    const table = aliasTable(this.uniform ? [] : weights);
    this.keep = table.keep;
    this.alias = table.alias;
  }

  pick(context?: PickContext): number {
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
    const start = Math.floor(this.random() * n) % n;
    for (let k = 0; k < n; k++) {
      const i = start + k < n ? start + k : start + k - n;
      if (available(i)) return i;
    }
    return -1;
  }

  private draw(): number {
    const r = this.random() * this.n;
    const i = r | 0;
    if (this.uniform) return i;
    return r - i < this.keep[i]! ? i : this.alias[i]!;
  }
}
