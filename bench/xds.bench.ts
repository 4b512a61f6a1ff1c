// xDS update cost: time to apply a 10,000-route MetaRDS update (decode the
// bytes route by route into model routes + RouteTable.compile), and the heap held by
// 10,000 routes plus 10,000 endpoints after translation.
// Run: node --expose-gc dist/bench/xds.bench.js (prints figures, asserts nothing).
import { performance } from 'node:perf_hooks';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import type { ClusterConfig, Route } from '../lib/config/model';
import { RouteTable } from '../lib/route';
import { clusterFromXds } from '../lib/xds/cluster-from-xds';
import { assignmentToXds, clusterToXds, routeToXds } from '../lib/xds/resources-from-snapshot';
import { routeConfigFromBytes } from '../lib/xds/route-config-reader';
import { TYPE_CDS, TYPE_EDS, TYPE_RDS } from '../lib/xds/type-urls';
import { xdsProtos, type XdsProtos } from '../lib/xds/xds-protos';

const N = 10_000;
const HOST = 'org.apache.dubbo.samples.basic.api.demoservice';

function routes(n: number): Route[] {
  return Array.from({ length: n }, (_, i) => ({
    name: `r${i}`,
    match: [
      { name: 'interface', kind: 'exact' as const, value: HOST },
      { name: 'method', kind: 'exact' as const, value: `method${i}` },
      { name: 'version', kind: 'prefix' as const, value: 'v' },
    ],
    clusters: [
      { cluster: `outbound|20880|v1|${HOST}`, weight: 90 },
      { cluster: `outbound|20880|v2|${HOST}`, weight: 10 },
    ],
    hashPolicy: ['user-id'],
    mirrors: [],
    requestMutation: [['x-route', `r${i}`] as const],
    responseMutation: [],
  }));
}

export interface XdsBenchResult {
  /** The fastest round, and the median round's total. */
  readonly applyMs: { readonly decodeTranslate: number; readonly compile: number; readonly total: number; readonly medianTotal: number };
  readonly heapMB: number;
}

/** A full garbage collection: global.gc under --expose-gc, else switched on here for this process. */
function fullGc(): () => void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed !== undefined) return exposed;
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

/**
 * Heap held by 10,000 translated, compiled routes + 10,000 endpoints in one
 * cluster. Measured first, in its own frame: after the timing rounds, the
 * last round's table can still be reachable from a stale register and is
 * freed in the same collection that counts the new one, hiding it.
 */
function heapHeldMB(protos: XdsProtos, bytes: Buffer): number {
  const gc = fullGc();
  const endpoints = Array.from({ length: N }, (_, i) => ({
    address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    port: 20880,
    labels: { version: i % 2 === 0 ? 'v1' : 'v2' },
    weight: 1,
    healthy: true,
  }));
  const model: ClusterConfig = { name: `outbound|20880||${HOST}`, host: HOST, port: 20880, subset: '', endpoints, lbPolicy: 'ROUND_ROBIN', connectTimeoutMs: 1000 };
  const clusterBytes = protos.codecs[TYPE_CDS].encode(clusterToXds(model));
  const claBytes = protos.codecs[TYPE_EDS].encode(assignmentToXds(model));
  endpoints.length = 0;
  gc();
  const before = process.memoryUsage().heapUsed;
  const held = {
    table: RouteTable.compile(routeConfigFromBytes(bytes, protos.readRoute)),
    cluster: clusterFromXds(protos.codecs[TYPE_CDS].decode(clusterBytes), protos.codecs[TYPE_EDS].decode(claBytes)),
  };
  gc();
  const heapMB = (process.memoryUsage().heapUsed - before) / 1e6;
  if (held.table.size !== N || held.cluster.endpoints.length !== N) throw new Error('bench translated the wrong amount');
  return heapMB;
}

export function runXdsBench(rounds = process.env.BENCH_QUICK ? 3 : 10): XdsBenchResult {
  const protos = xdsProtos();
  const bytes = protos.codecs[TYPE_RDS].encode({ name: `${HOST}_20880`, virtual_hosts: [{ name: 'dummy', domains: ['*'], routes: routes(N).map(routeToXds) }] });
  const heapMB = heapHeldMB(protos, bytes);
  let best = { decodeTranslate: Infinity, compile: Infinity, total: Infinity };
  const totals: number[] = [];
  for (let i = 0; i < rounds; i++) {
    // The path an RDS response takes in XdsConfigSource and MeshState.
    const t0 = performance.now();
    const config = routeConfigFromBytes(bytes, protos.readRoute);
    const t1 = performance.now();
    RouteTable.compile(config);
    const t2 = performance.now();
    totals.push(t2 - t0);
    if (t2 - t0 < best.total) best = { decodeTranslate: t1 - t0, compile: t2 - t1, total: t2 - t0 };
  }
  totals.sort((a, b) => a - b);
  const medianTotal = totals[totals.length >> 1]!;
  return { applyMs: { ...best, medianTotal }, heapMB };
}

if (require.main === module) {
  const r = runXdsBench();
  const f = (n: number) => n.toFixed(1);
  const a = r.applyMs;
  console.log(`10,000-route MetaRDS update, fastest round: decode+translate ${f(a.decodeTranslate)} ms + compile ${f(a.compile)} ms = ${f(a.total)} ms; median round ${f(a.medianTotal)} ms (target <= 100 ms)`);
  console.log(`heap for 10,000 routes + 10,000 endpoints: ${f(r.heapMB)} MB (target <= 50 MB)`);
}
