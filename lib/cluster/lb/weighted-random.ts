// RANDOM: each pick draws an endpoint with probability weight/total in O(1)
// (Vose's alias method, built once). Unavailable or still-warming hosts are
// handled by drawing again, which keeps the distribution exact over the rest.
import type { Endpoint } from '../../config/model';
import type { LbOptions, LbRuntime } from './lb-options';
import type { LoadBalancer, PickContext } from './load-balancer';
import { endpointWeights } from './endpoint-weights';
import { SlowStart } from './slow-start';
import { WeightedSampler } from './weighted-sampler';

export class WeightedRandom implements LoadBalancer {
  private readonly sampler: WeightedSampler;

  constructor(endpoints: readonly Endpoint[], options: LbOptions = {}, runtime: LbRuntime = {}) {
    const random = runtime.random ?? Math.random;
    const slowStart = SlowStart.of(endpoints.length, options.slowStart, runtime.now ?? performance.now.bind(performance));
    this.sampler = new WeightedSampler(endpointWeights(endpoints), random, slowStart);
  }

  pick(context?: PickContext): number {
    return this.sampler.sample(context);
  }
}
