// Built-in balancers register themselves here; users add theirs with registerLoadBalancer.
import { registerLoadBalancer } from './load-balancer';
import { RoundRobin } from './round-robin';

registerLoadBalancer('ROUND_ROBIN', (endpoints) => new RoundRobin(endpoints));

export * from './load-balancer';
export { RoundRobin } from './round-robin';
