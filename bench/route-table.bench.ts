// Route lookup cost: ns per RouteTable.match for a 10-route and a
// 10,000-route table, to show the exact-value index keeps lookups flat.
// Run: node dist/bench/route-table.bench.js (prints figures, asserts nothing).
import { Metadata } from '../lib/protocol';
import type { Route, RouteConfig } from '../lib/config';
import { RouteTable } from '../lib/route';

function routeConfig(n: number): RouteConfig {
  const routes: Route[] = [];
  for (let i = 0; i < n; i++) {
    routes.push({
      name: `r${i}`,
      match: [
        { name: 'interface', kind: 'exact', value: 'org.apache.dubbo.samples.basic.api.DemoService' },
        { name: 'method', kind: 'exact', value: `method${i}` },
        { name: 'version', kind: 'prefix', value: 'v' },
      ],
      clusters: [
        { cluster: `outbound|20880|v1|demo.svc.cluster.local`, weight: 90 },
        { cluster: `outbound|20880|v2|demo.svc.cluster.local`, weight: 10 },
      ],
      hashPolicy: [],
      mirrors: [],
      requestMutation: [],
      responseMutation: [],
    });
  }
  // A catch-all with a non-exact matcher: it is on every lookup's candidate list.
  routes.push({
    name: 'default',
    match: [{ name: 'interface', kind: 'present', present: true }],
    clusters: [{ cluster: 'outbound|20880||demo.svc.cluster.local', weight: 1 }],
    hashPolicy: [],
    mirrors: [],
    requestMutation: [],
    responseMutation: [],
  });
  return { name: 'demo.svc.cluster.local_20880', routes };
}

function bench(label: string, table: RouteTable, calls: Metadata[], iterations: number): void {
  let sink = 0;
  // Warm up so the figure is for optimized code.
  for (let i = 0; i < 200_000; i++) sink += table.match(calls[i % calls.length]!) === undefined ? 0 : 1;
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) sink += table.match(calls[i % calls.length]!) === undefined ? 0 : 1;
  const ns = Number(process.hrtime.bigint() - start) / iterations;
  console.log(`${label.padEnd(44)} ${ns.toFixed(1).padStart(8)} ns/match  (${sink > 0 ? 'ok' : 'no match'})`);
}

export function runRouteTableBench(iterations = 2_000_000): void {
  for (const n of [10, 10_000]) {
    const table = RouteTable.compile(routeConfig(n));
    const iface = 'org.apache.dubbo.samples.basic.api.DemoService';
    // Spread hits over the whole table, so a linear scan would pay for depth.
    const hits: Metadata[] = [];
    for (let i = 0; i < 64; i++) {
      hits.push(new Metadata({ interface: iface, method: `method${Math.floor((i * n) / 64)}`, version: 'v2' }));
    }
    const lastHit = [new Metadata({ interface: iface, method: `method${n - 1}`, version: 'v2' })];
    const fallthrough = [new Metadata({ interface: iface, method: 'unknown', version: 'v2' })];
    bench(`${n} routes, hits spread over the table`, table, hits, iterations);
    bench(`${n} routes, hit on the last indexed route`, table, lastHit, iterations);
    bench(`${n} routes, no exact hit (falls to default)`, table, fallthrough, iterations);
  }
}

if (require.main === module) runRouteTableBench();
