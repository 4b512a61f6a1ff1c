// The control plane of bench/xds-scale.bench.ts, in its own process so its
// encoding work never shows in the client's event-loop figures. It serves
// CLUSTERS EDS clusters of ENDPOINTS endpoints each and one route config of
// ROUTES routes (method m<i> to cluster i mod CLUSTERS, and `add` to the live
// thrift server), and on request pushes a one-endpoint change in cluster 0 or
// a new version of the route config with every route changed. The next change
// of each kind is built and encoded ahead ('prepare'), outside the window the
// bench times: a control plane on another machine costs the client nothing
// while it builds a version, and on this 2-core machine its encoding took a
// core from the thrift server the calls wait for.
// argv: clusters endpoints routes livePort. XDS_SCALE_LABELS=1: each endpoint
// carries a label in its envoy.lb metadata, version v0 or v1 (as Istio sends
// a subset's labels, and as bench/yaml-scale's endpoints have them).
import { ControlPlaneServer, TYPE_CDS, TYPE_EDS, TYPE_RDS } from '../../lib/xds';
import { packResource } from '../../lib/xds/xds-protos';

const [clusters, endpoints, routes, livePort] = process.argv.slice(2).map(Number) as [number, number, number, number];
const HOST = 'scale.demo.svc.cluster.local';
const cluster = (i: number) => `outbound|9090|c${i}|${HOST}`;
const LIVE = `outbound|9090|live|${HOST}`;
const LABELS = process.env.XDS_SCALE_LABELS === '1';

function assignment(i: number, shift = 0): object {
  const lb_endpoints = Array.from({ length: endpoints }, (_, j) => ({
    endpoint: { address: { socket_address: { address: `10.${i & 255}.${(j + shift) >> 8}.${(j + shift) & 255}`, port_value: 9090 + (i >> 8) } } },
    load_balancing_weight: { value: 1 },
    ...(LABELS ? { metadata: { filter_metadata: { 'envoy.lb': { fields: { version: { stringValue: `v${j % 2}` } } } } } } : {}),
  }));
  return { cluster_name: cluster(i), endpoints: [{ locality: { region: 'r', zone: 'z' }, lb_endpoints }] };
}

function clusterProto(name: string): object {
  return { name, type: 'EDS', eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' }, service_name: name }, connect_timeout: { seconds: '1', nanos: 0 } };
}

function routeConfig(version: number): object {
  const list: object[] = [{ name: 'live', match: { prefix: '/', headers: [{ name: 'method', exact_match: 'add' }] }, route: { cluster: LIVE } }];
  for (let i = 0; i < routes; i++) {
    list.push({ name: `r${i}-v${version}`, match: { prefix: '/', headers: [{ name: 'method', exact_match: `m${i}` }] }, route: { cluster: cluster((i + version) % clusters) } });
  }
  return { name: `${HOST}_9090`, virtual_hosts: [{ name: 'dummy', routes: list }] };
}

async function main(): Promise<void> {
  const cp = await ControlPlaneServer.start({ port: 0, host: '127.0.0.1' });
  let routeVersion = 0;
  cp.setRawResources(TYPE_RDS, [routeConfig(routeVersion)]);
  cp.setRawResources(TYPE_CDS, [...Array.from({ length: clusters }, (_, i) => clusterProto(cluster(i))), clusterProto(LIVE)]);
  const live = { cluster_name: LIVE, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: livePort } } } }] }] };
  const assignments = [...Array.from({ length: clusters }, (_, i) => assignment(i)), live];
  cp.setRawResources(TYPE_EDS, assignments);
  let shift = 0;
  /** A resource built and encoded ahead of its push, served as those bytes. */
  const packed = (typeUrl: typeof TYPE_EDS | typeof TYPE_RDS, name: string, resource: object) => ({ name, ...packResource(typeUrl, resource) });
  const nextEds = () => packed(TYPE_EDS, cluster(0), assignment(0, ++shift));
  const nextRds = () => packed(TYPE_RDS, `${HOST}_9090`, routeConfig(++routeVersion));
  let preparedEds: object | undefined;
  let preparedRds: object | undefined;
  process.on('message', (m: { op: 'eds' | 'rds' | 'prepare' }) => {
    if (m.op === 'prepare') {
      preparedEds ??= nextEds();
      preparedRds ??= nextRds();
      process.send?.({ op: 'prepared' });
    } else if (m.op === 'eds') {
      assignments[0] = preparedEds ?? nextEds();
      preparedEds = undefined;
      cp.setRawResources(TYPE_EDS, assignments);
      // What a one-endpoint change costs on the wire: delta sends the changed assignment, state of the world all of them.
      const sizes = (cp as unknown as { state: Map<string, { resources: Map<string, { value: Buffer }> }> }).state.get(TYPE_EDS)!.resources;
      const sotw = [...sizes.values()].reduce((n, a) => n + a.value.length, 0);
      process.send?.({ op: 'eds', deltaBytes: sizes.get(cluster(0))!.value.length, sotwBytes: sotw });
    } else {
      cp.setRawResources(TYPE_RDS, [preparedRds ?? nextRds()]);
      preparedRds = undefined;
      process.send?.({ op: 'rds' });
    }
  });
  process.send?.({ port: cp.port });
}

process.on('disconnect', () => process.exit(0));
void main();
