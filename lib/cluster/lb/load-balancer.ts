// The load balancer plug-in interface and its registry. A balancer picks an
// endpoint index; it is built once per cluster per config, so a pick is a
// pure function of its own small state and the context the caller passes.
import type { ClusterConfig, Endpoint } from '../../config/model';
import type { LbRuntime } from './lb-options';

// Fields take `| undefined`: callers reuse one context object for every pick and reset fields to undefined.
export interface PickContext {
  /**
   * The 64-bit hash of the route's hash_policy values (Envoy's xxHash64 chain, as
   * MetaProtocol Proxy computes it), for consistent-hash balancers.
   */
  readonly hashKey?: bigint | undefined;
  /** Returns false for endpoints that must not be picked (ejected, draining, tried). */
  readonly isAvailable?: ((index: number) => boolean) | undefined;
  /**
   * Changes whenever the answers of isAvailable may have changed (an ejection or a
   * return). Balancers that keep per-priority availability shares recount only then;
   * without it they recount every max(1024, n) picks.
   */
  readonly availabilityVersion?: number | undefined;
  /**
   * 0 (or absent) for a call's first pick; n for its n-th retry, where
   * isAvailable also leaves out the hosts already tried. Hashing balancers
   * then walk on from the key's slot instead of rebuilding without them (Envoy's
   * retry attempts), keeping the rebuild for changes of health.
   */
  readonly attempt?: number | undefined;
  /** Requests in flight on an endpoint, for LEAST_REQUEST. */
  readonly activeRequests?: ((index: number) => number) | undefined;
  /**
   * When an endpoint's host joined, in milliseconds on the balancer's clock
   * (performance.now() unless injected), for slow start. Must stay the same for an
   * index while the balancer lives; -Infinity means "always there".
   */
  readonly addedAt?: ((index: number) => number) | undefined;
}

export interface LoadBalancer {
  /** An index into the cluster's endpoints, or -1 when none can be picked. */
  pick(context?: PickContext): number;
}

export type LoadBalancerFactory = (endpoints: readonly Endpoint[], cluster: ClusterConfig, runtime?: LbRuntime) => LoadBalancer;

const registry = new Map<string, LoadBalancerFactory>();

/** Registers (or replaces) the balancer used for an lbPolicy name. */
export function registerLoadBalancer(policy: string, factory: LoadBalancerFactory): void {
  registry.set(policy, factory);
}

/** The factory for a policy, or undefined when none is registered. */
export function loadBalancerFactory(policy: string): LoadBalancerFactory | undefined {
  return registry.get(policy);
}

export function registeredLoadBalancers(): string[] {
  return [...registry.keys()];
}
