// LEAST_REQUEST, as Envoy does it. Equal weights: sample choiceCount hosts at
// random (power of two choices by default) and take the one with the fewest
// requests in flight. Unequal weights: earliest-deadline-first where a host's
// weight at each reschedule is weight / (active + 1)^activeRequestBias.
import type { Endpoint } from '../../config/model';
import type { LbOptions, LbRuntime } from './lb-options';
import type { LoadBalancer, PickContext } from './load-balancer';
import { EdfScheduler } from './edf-scheduler';
import { SlowStart } from './slow-start';

/** Draws per sample before falling back to a scan for an available host. */
const MAX_DRAWS = 48;

export class LeastRequest implements LoadBalancer {
  private readonly n: number;
  private readonly choiceCount: number;
  private readonly bias: number;
  private readonly weights: Float64Array;
  private readonly edf: EdfScheduler | undefined;
  private readonly random: () => number;
  private readonly slowStart: SlowStart | undefined;

  constructor(endpoints: readonly Endpoint[], options: LbOptions = {}, runtime: LbRuntime = {}) {
    const n = endpoints.length;
    this.n = n;
    this.choiceCount = Math.max(2, Math.floor(options.leastRequest?.choiceCount ?? 2));
    const bias = options.leastRequest?.activeRequestBias ?? 1;
    this.bias = Number.isFinite(bias) && bias >= 0 ? bias : 1;
    this.random = runtime.random ?? Math.random;
    this.slowStart = SlowStart.of(n, options.slowStart, runtime.now ?? performance.now.bind(performance));
    this.weights = Float64Array.from(endpoints, (e) => Math.max(1, e.weight));
    const first = this.weights[0] ?? 1;
    this.edf = this.weights.some((w) => w !== first) ? new EdfScheduler(this.weights) : undefined;
  }

  pick(context?: PickContext): number {
    if (this.n === 0) return -1;
    return this.edf === undefined ? this.pickOfChoices(context) : this.pickWeighted(this.edf, context);
  }

  private pickOfChoices(context: PickContext | undefined): number {
    const active = context?.activeRequests;
    if (this.choiceCount === 2 && active !== undefined && context!.isAvailable === undefined && this.slowStart === undefined) {
      // The common case: both samples from one random draw (its fraction is still uniform).
      const n = this.n;
      const r = this.random() * n;
      const a = r | 0;
      const b = ((r - a) * n) | 0;
      return active(b) < active(a) ? b : a;
    }
    let best = this.sample(context);
    if (best < 0 || active === undefined) return best;
    let bestActive = active(best);
    for (let c = 1; c < this.choiceCount; c++) {
      const i = this.sample(context);
      const a = active(i);
      if (a < bestActive) {
        best = i;
        bestActive = a;
      }
    }
    return best;
  }

  /** One uniform draw among available hosts, thinned by slow start; -1 when none is available. */
  private sample(context: PickContext | undefined): number {
    const n = this.n;
    const available = context?.isAvailable;
    const addedAt = context?.addedAt;
    const slowStart = this.slowStart;
    for (let tries = 0; tries < MAX_DRAWS; tries++) {
      const i = (this.random() * n) | 0;
      if (available !== undefined && !available(i)) continue;
      if (slowStart !== undefined && addedAt !== undefined) {
        const f = slowStart.factor(i, addedAt);
        if (f < 1 && this.random() >= f) continue;
      }
      return i;
    }
    const start = (this.random() * n) | 0;
    for (let k = 0; k < n; k++) {
      const i = start + k < n ? start + k : start + k - n;
      if (available === undefined || available(i)) return i;
    }
    return -1;
  }

  private pickWeighted(edf: EdfScheduler, context: PickContext | undefined): number {
    const n = this.n;
    const available = context?.isAvailable;
    const active = context?.activeRequests;
    const addedAt = context?.addedAt;
    const slowStart = this.slowStart;
    const bias = this.bias;
    for (let tries = 0; tries < n; tries++) {
      const i = edf.top();
      let w = this.weights[i]!;
      if (slowStart !== undefined) w *= slowStart.factor(i, addedAt);
      if (active !== undefined && bias !== 0) {
        const a = active(i) + 1;
        w = bias === 1 ? w / a : w / Math.pow(a, bias);
      }
      edf.reschedule(w);
      if (available === undefined || available(i)) return i;
    }
    return -1;
  }
}
