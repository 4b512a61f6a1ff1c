// xDS at scale: event-loop delay (max, p99) while a client applies an initial
// sync of CLUSTERS x ENDPOINTS endpoints and then a one-endpoint EDS change in
// one cluster, heap per endpoint, and the EDS payload bytes a one-endpoint
// change costs in delta vs state of the world. Short by default (100 x 100);
// XDS_SCALE_ENDPOINTS=1000 for the 100k mesh of issue 22.
// The local control plane runs in the same process, so the delays include its
// encoding work too: they are upper bounds for the client alone. The change's
// time is split: the control plane encoding what changed, then the client's
// share (from the push to the new snapshot).
// Run: node --expose-gc dist/bench/xds-scale.bench.js (prints figures, asserts nothing).
import type { Snapshot } from '../lib/config/model';
import { ControlPlaneServer, TYPE_CDS, TYPE_EDS, TYPE_RDS, XdsConfigSource } from '../lib/xds';
import { LoopStalls } from './support/loop-stalls';

const CLUSTERS = 100;
const ENDPOINTS = Number(process.env.XDS_SCALE_ENDPOINTS ?? 100);
const HOST = 'scale.demo.svc.cluster.local';
const RC = `${HOST}_9090`;
const cluster = (i: number) => `outbound|9090|c${i}|${HOST}`;

function assignment(i: number, shift = 0): object {
  const lb_endpoints = Array.from({ length: ENDPOINTS }, (_, j) => ({
    endpoint: { address: { socket_address: { address: `10.${i}.${(j + shift) >> 8}.${(j + shift) & 255}`, port_value: 9090 } } },
    load_balancing_weight: { value: 1 },
  }));
  return { cluster_name: cluster(i), endpoints: [{ locality: { region: 'r', zone: 'z' }, lb_endpoints }] };
}

function clusterProto(i: number): object {
  return { name: cluster(i), type: 'EDS', eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' }, service_name: cluster(i) }, connect_timeout: { seconds: '1', nanos: 0 } };
}

function routeConfig(): object {
  const routes = Array.from({ length: CLUSTERS }, (_, i) => ({ name: `r${i}`, match: { prefix: '/', headers: [{ name: 'method', exact_match: `m${i}` }] }, route: { cluster: cluster(i) } }));
  return { name: RC, virtual_hosts: [{ name: 'dummy', routes }] };
}

async function measure<T>(work: () => Promise<T>): Promise<{ value: T; maxMs: number; p99Ms: number; ms: number }> {
  const stalls = new LoopStalls().start();
  const t0 = performance.now();
  const value = await work();
  const ms = performance.now() - t0;
  const { maxMs, p99Ms } = stalls.stop();
  return { value, maxMs, p99Ms, ms };
}

function heapAfterGc(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
}

async function main(): Promise<void> {
  const cp = await ControlPlaneServer.start({ port: 0, host: '127.0.0.1' });
  cp.setRawResources(TYPE_RDS, [routeConfig()]);
  cp.setRawResources(TYPE_CDS, Array.from({ length: CLUSTERS }, (_, i) => clusterProto(i)));
  const assignments = Array.from({ length: CLUSTERS }, (_, i) => assignment(i));
  cp.setRawResources(TYPE_EDS, assignments);
  const target = `127.0.0.1:${cp.port}`;
  const before = heapAfterGc();
  const seen: Snapshot[] = [];
  let wake: (() => void) | undefined;
  const sync = await measure(() => XdsConfigSource.start({ metaRds: target, ads: target, services: [`${HOST}:9090`] }, (s) => (seen.push(s), wake?.())));
  const source = sync.value;
  const endpoints = [...source.snapshot!.clusters.values()].reduce((n, c) => n + c.endpoints.length, 0);
  const heap = heapAfterGc() - before;
  let pushMs = 0;
  const change = await measure(async () => {
    const next = new Promise<void>((r) => (wake = r));
    const t0 = performance.now();
    assignments[0] = assignment(0, 1);
    cp.setRawResources(TYPE_EDS, assignments);
    pushMs = performance.now() - t0;
    await next;
  });
  // EDS payload of a one-endpoint change: state of the world resends every assignment subscribed, delta the changed one.
  const sizes = (cp as unknown as { state: Map<string, { resources: Map<string, { value: Buffer }> }> }).state.get(TYPE_EDS)!.resources;
  const sotwBytes = [...sizes.values()].reduce((n, a) => n + a.value.length, 0);
  const deltaBytes = sizes.get(cluster(0))!.value.length;
  const protocol = source.dump().servers.map((s) => s.protocol).join('/');
  source.close();
  await cp.close();
  const f = (x: number) => x.toFixed(1);
  console.log(`xds-scale: ${CLUSTERS} clusters x ${ENDPOINTS} endpoints = ${endpoints} endpoints, protocol ${protocol}`);
  console.log(`  initial sync: ${f(sync.ms)} ms, event-loop delay max ${f(sync.maxMs)} ms, p99 ${f(sync.p99Ms)} ms`);
  console.log(
    `  one-cluster EDS change: ${f(change.ms)} ms (control plane ${f(pushMs)} ms, client ${f(change.ms - pushMs)} ms), event-loop delay max ${f(change.maxMs)} ms, p99 ${f(change.p99Ms)} ms`,
  );
  console.log(`  heap: ${f(heap / 1024 / 1024)} MB, ${f(heap / endpoints)} B per endpoint${(globalThis as { gc?: unknown }).gc ? '' : ' (run with --expose-gc for a clean figure)'}`);
  console.log(`  one-endpoint change, EDS payload: delta ${deltaBytes} B vs state of the world ${sotwBytes} B (${f(sotwBytes / deltaBytes)}x)`);
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
