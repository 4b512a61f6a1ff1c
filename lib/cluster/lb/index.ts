// Built-in balancers register themselves here under their lbPolicy names;
// users add theirs with registerLoadBalancer. Every built-in is wrapped in
// LocalityAware, which steps aside when there is nothing for it to do.
import type { Endpoint } from '../../config/model';
import { lbOptionsOf, type LbOptions, type LbRuntime } from './lb-options';
import { registerLoadBalancer, type LoadBalancer } from './load-balancer';
import { LeastRequest } from './least-request';
import { LocalityAware } from './locality-aware';
import { Maglev } from './maglev';
import { RingHash } from './ring-hash';
import { RoundRobin } from './round-robin';
import { WeightedRandom } from './weighted-random';

type BalancerClass = new (endpoints: readonly Endpoint[], options: LbOptions, runtime: LbRuntime) => LoadBalancer;

const builtIns: Record<string, BalancerClass> = {
  ROUND_ROBIN: RoundRobin,
  RANDOM: WeightedRandom,
  LEAST_REQUEST: LeastRequest,
  RING_HASH: RingHash,
  MAGLEV: Maglev,
};

for (const [policy, Balancer] of Object.entries(builtIns)) {
  registerLoadBalancer(policy, (endpoints, cluster, runtime = {}) => {
    const options = lbOptionsOf(cluster);
    return LocalityAware.wrap(endpoints, options, (group) => new Balancer(group, options, runtime), runtime);
  });
}

export * from './load-balancer';
export * from './lb-options';
export { RoundRobin } from './round-robin';
export { WeightedRandom } from './weighted-random';
export { LeastRequest } from './least-request';
export { RingHash } from './ring-hash';
export { Maglev } from './maglev';
export { LocalityAware, type InnerBalancerFactory } from './locality-aware';
export { localityPriorities, localityMatches, type LocalityGroup, type PriorityLevel } from './locality-priorities';
export { SlowStart } from './slow-start';
export { murmur3 } from './murmur3';
export { xxhash64, xxhash64Chain } from '../../protocol/xxhash64';
