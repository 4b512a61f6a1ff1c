// RANDOM: each pick draws an endpoint with probability weight/total in O(1)
// (Vose's alias method, built once). Unavailable or still-warming hosts are
// handled by drawing again, which keeps the distribution exact over the rest.
import type { Endpoint } from '../../config/model';
import type { LbOptions, LbRuntime } from './lb-options';
import type { LoadBalancer, PickContext } from './load-balancer';
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
    this.keep = new Float64Array(this.uniform ? 0 : n);
    this.alias = new Int32Array(this.uniform ? 0 : n);
    if (!this.uniform) buildAlias(weights, this.keep, this.alias);
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

function buildAlias(weights: readonly number[], keep: Float64Array, alias: Int32Array): void {
  const n = weights.length;
  const total = weights.reduce((a, b) => a + b, 0);
  const scaled = Float64Array.from(weights, (w) => (w * n) / total);
  const small: number[] = [];
  const large: number[] = [];
  for (let i = 0; i < n; i++) (scaled[i]! < 1 ? small : large).push(i);
  while (small.length > 0 && large.length > 0) {
    const s = small.pop()!;
    const l = large[large.length - 1]!;
    keep[s] = scaled[s]!;
    alias[s] = l;
    scaled[l] = scaled[l]! + scaled[s]! - 1;
    if (scaled[l]! < 1) {
      large.pop();
      small.push(l);
    }
  }
  // What is left is 1 up to rounding.
  for (const i of large) (keep[i] = 1), (alias[i] = i);
  for (const i of small) (keep[i] = 1), (alias[i] = i);
}
