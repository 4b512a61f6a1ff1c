// Balancer pick cost: ns per pick for each built-in balancer at 10, 1,000 and
// 10,000 hosts, plus the registry's default (LocalityAware around the balancer,
// panic threshold on, availability checked), measured side by side in one run.
// Run: node dist/bench/load-balancers.bench.js (prints a table, asserts nothing).
import type { Endpoint } from '../lib/config/model';
import { LeastRequest, Maglev, RingHash, RoundRobin, WeightedRandom, loadBalancerFactory, xxhash64 } from '../lib/cluster/lb';
import type { ClusterConfig } from '../lib/config/model';
import type { LoadBalancer, PickContext } from '../lib/cluster/lb';
import { runBench } from './support/run-bench';

const SIZES = [10, 1_000, 10_000];

function endpoints(n: number, weighted: boolean): Endpoint[] {
  return Array.from({ length: n }, (_, i) => ({
    address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    port: 9090,
    labels: {},
    weight: weighted ? 1 + (i % 5) : 1,
  }));
}

interface Case {
  readonly label: string;
  readonly build: (n: number) => LoadBalancer;
  readonly contexts: (n: number) => PickContext[];
}

const active = new Int32Array(10_000).map((_, i) => i % 7);
const activeRequests = (i: number): number => active[i]!;
const isAvailable = (): boolean => true;
const keyNames = Array.from({ length: 1024 }, (_, k) => `user-${k * 7919}`);
/** The 64-bit hashes the route hands to consistent-hash balancers. */
const hashKeys = keyNames.map((k) => xxhash64(k));
const plain = (): PickContext[] => [{}];
const withKeys = (): PickContext[] => hashKeys.map((hashKey) => ({ hashKey }));

function viaRegistry(policy: ClusterConfig['lbPolicy'], weighted = false): (n: number) => LoadBalancer {
  return (n) => {
    const eps = endpoints(n, weighted);
    const cluster = { name: 'bench', host: 'bench', port: 9090, subset: '', endpoints: eps, lbPolicy: policy, connectTimeoutMs: 1000 };
    return loadBalancerFactory(policy)!(eps, cluster);
  };
}

const cases: Case[] = [
  // Baselines, so figures from a loaded machine can be read as ratios.
  { label: 'baseline: Math.random() alone', build: () => ({ pick: () => (Math.random() * 2) | 0 }), contexts: plain },
  { label: 'baseline: xxhash64(key) alone (the route does this once per call)', build: () => { let i = 0; return { pick: () => Number(xxhash64(keyNames[i++ & 1023]!) & 1n) }; }, contexts: withKeys },
  { label: 'round robin, equal weights', build: (n) => new RoundRobin(endpoints(n, false)), contexts: plain },
  { label: 'round robin, weighted (one EDF period, precomputed)', build: (n) => new RoundRobin(endpoints(n, true)), contexts: plain },
  { label: 'random, equal weights', build: (n) => new WeightedRandom(endpoints(n, false)), contexts: plain },
  { label: 'random, weighted (alias)', build: (n) => new WeightedRandom(endpoints(n, true)), contexts: plain },
  { label: 'least request, P2C', build: (n) => new LeastRequest(endpoints(n, false)), contexts: () => [{ activeRequests }] },
  { label: 'least request, weighted (P2C over alias draws)', build: (n) => new LeastRequest(endpoints(n, true)), contexts: () => [{ activeRequests }] },
  {
    label: 'least request, weighted, isAvailable',
    build: (n) => new LeastRequest(endpoints(n, true)),
    contexts: () => [{ activeRequests, isAvailable }],
  },
  { label: 'ring hash (1024 keys)', build: (n) => new RingHash(endpoints(n, false)), contexts: withKeys },
  { label: 'maglev (1024 keys)', build: (n) => new Maglev(endpoints(n, false)), contexts: withKeys },
  {
    label: 'registry ROUND_ROBIN + panic, isAvailable',
    build: viaRegistry('ROUND_ROBIN'),
    contexts: () => [{ isAvailable, availabilityVersion: 1 }],
  },
  {
    label: 'registry RING_HASH + panic, isAvailable',
    build: viaRegistry('RING_HASH'),
    contexts: () => hashKeys.map((hashKey) => ({ hashKey, isAvailable, availabilityVersion: 1 })),
  },
];

function measure(lb: LoadBalancer, contexts: PickContext[], iterations: number): number {
  const mask = contexts.length - 1; // lengths are powers of two
  let sink = 0;
  for (let i = 0; i < 200_000; i++) sink += lb.pick(contexts[i & mask]);
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) sink += lb.pick(contexts[i & mask]);
  const ns = Number(process.hrtime.bigint() - start) / iterations;
  if (sink === -Infinity) console.log('unreachable');
  return ns;
}

/** Prints ns per pick for every balancer and size; also the build time of the hash balancers. */
export async function runLoadBalancerBench(iterations = process.env.BENCH_QUICK ? 500_000 : 3_000_000): Promise<void> {
  const header = `${'balancer'.padEnd(52)}${SIZES.map((n) => `${n} hosts`.padStart(14)).join('')}`;
  console.log(`ns per pick (${iterations.toLocaleString('en-US')} picks each, after warm-up)`);
  console.log(header);
  console.log('-'.repeat(header.length));
  for (const c of cases) {
    const cells: string[] = [];
    for (const n of SIZES) {
      const lb = c.build(n);
      cells.push(measure(lb, c.contexts(n), iterations).toFixed(1).padStart(14));
    }
    console.log(`${c.label.padEnd(52)}${cells.join('')}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
  console.log('\nbuild time (ms)');
  for (const [label, build] of [
    ['ring hash', (n: number) => new RingHash(endpoints(n, false))],
    ['maglev', (n: number) => new Maglev(endpoints(n, false))],
  ] as const) {
    const cells = SIZES.map((n) => {
      const start = process.hrtime.bigint();
      build(n);
      return (Number(process.hrtime.bigint() - start) / 1e6).toFixed(1).padStart(14);
    });
    console.log(`${label.padEnd(52)}${cells.join('')}`);
  }
}

runBench(module, runLoadBalancerBench);
