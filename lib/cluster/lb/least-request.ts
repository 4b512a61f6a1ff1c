// LEAST_REQUEST: power of k choices, O(1) per pick at any host count.
// Each pick draws choiceCount candidates (default 2) in proportion to weight
// (uniformly when weights are equal, else from an alias table) and keeps the
// one with the lowest load score, active * (active + 1)^activeRequestBias / weight;
// ties go to the first drawn.
//
// Equal weights: the score orders by requests in flight alone, so this is
// Envoy's P2C exactly. Unequal weights: Envoy runs EDF on weight / (active +
// 1)^bias, which costs O(log n) per pick and settles where every host has
// active * (active + 1)^bias proportional to its weight. The score here is that
// same quantity over weight: hosts at that balance tie, so the first (weighted)
// draw wins and picks follow the weights exactly; a host above it loses to any
// candidate below it. Idle hosts all score 0, so an idle cluster is picked
// strictly by weight. activeRequestBias 0 ignores requests in flight (weighted
// random), as Envoy's bias 0 is plain weighted round robin.
import type { Endpoint } from '../../config/model';
import type { LbOptions, LbRuntime } from './lb-options';
import type { LoadBalancer, PickContext } from './load-balancer';
import { SlowStart } from './slow-start';
import { endpointWeights } from './endpoint-weights';
import { WeightedSampler } from './weighted-sampler';

export class LeastRequest implements LoadBalancer {
  private readonly n: number;
  private readonly choiceCount: number;
  private readonly bias: number;
  private readonly uniform: boolean;
  /** 1 / weight, for the load score. */
  private readonly inverseWeight: Float64Array;
  /** Weighted draws, the candidates of each pick. */
  private readonly sampler: WeightedSampler;
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
    const weights = endpointWeights(endpoints);
    this.sampler = new WeightedSampler(weights, this.random, this.slowStart);
    this.uniform = this.sampler.uniform;
    const inverse = new Float64Array(n);
    for (let i = 0; i < n; i++) inverse[i] = 1 / weights[i]!; // i < n
    this.inverseWeight = inverse;
  }

  pick(context?: PickContext): number {
    const n = this.n;
    if (n === 0) return -1;
    const active = context?.activeRequests;
    if (this.choiceCount === 2 && active !== undefined && context!.isAvailable === undefined && this.slowStart === undefined) {
      if (this.uniform) {
        // The common case: both samples from one random draw (its fraction is still uniform).
        const r = this.random() * n;
        const a = r | 0;
        const b = ((r - a) * n) | 0;
        return active(b) < active(a) ? b : a;
      }
      if (this.bias === 1) {
        const a = this.sampler.draw();
        const b = this.sampler.draw();
        const aa = active(a);
        const ab = active(b);
        // ab(ab+1)/wb < aa(aa+1)/wa, without dividing.
        return ab * (ab + 1) * this.inverseWeight[b]! < aa * (aa + 1) * this.inverseWeight[a]! ? b : a;
      }
    }
    return this.pickOfChoices(context, active);
  }

  private pickOfChoices(context: PickContext | undefined, active: ((index: number) => number) | undefined): number {
    let best = this.sampler.sample(context);
    if (best < 0 || active === undefined || (!this.uniform && this.bias === 0)) return best;
    let bestScore = this.score(best, active(best));
    for (let c = 1; c < this.choiceCount; c++) {
      const i = this.sampler.sample(context);
      const s = this.score(i, active(i));
      if (s < bestScore) {
        best = i;
        bestScore = s;
      }
    }
    return best;
  }

  /** Requests in flight per unit of weight, scaled by the bias (see the header). */
  private score(i: number, inFlight: number): number {
    if (this.uniform) return inFlight;
    const bias = this.bias;
    const load = bias === 1 ? inFlight * (inFlight + 1) : inFlight * Math.pow(inFlight + 1, bias);
    return load * this.inverseWeight[i]!;
  }
}
