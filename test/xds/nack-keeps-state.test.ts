// A response with any invalid resource is NACKed as a whole and changes
// nothing, for every resource type: undecodable bytes, values outside the
// ranges Envoy's validation allows, and a valid change sent beside a bad one.
import assert from 'node:assert/strict';
import * as path from 'node:path';
import type { Snapshot } from '../../lib/config/model';
import { ControlPlaneServer, TYPE_CDS, TYPE_EDS, TYPE_RDS, XdsConfigSource } from '../../lib/xds';
import type { XdsTypeUrl } from '../../lib/xds';
import type { ClusterLoadAssignmentProto, ClusterProto, RouteConfigurationProto } from '../../lib/xds/envoy-types';
import { defined } from '../support/defined';

const DEMO = path.resolve(__dirname, '../../../test/fixtures/config/thrift-demo');
const HOST = 'thrift-sample-server.meta-thrift.svc.cluster.local';
const RC = `${HOST}_9090`;
const V1 = `outbound|9090|v1|${HOST}`;
const V2 = `outbound|9090|v2|${HOST}`;

describe('xDS NACK keeps all of the last good state', () => {
  let cp: ControlPlaneServer;
  let source: XdsConfigSource;
  let seen: Snapshot[];
  let nacks: { typeUrl: string; message: string }[];

  beforeEach(async () => {
    cp = await ControlPlaneServer.start({ config: [DEMO], port: 0, host: '127.0.0.1', watch: false });
    nacks = [];
    cp.on('nack', (typeUrl: string, message: string) => nacks.push({ typeUrl, message }));
    seen = [];
    const target = `127.0.0.1:${cp.port}`;
    source = await XdsConfigSource.start({ metaRds: target, ads: target, backoff: { initialMs: 20, maxMs: 200 } }, (s) => seen.push(s));
    assert.equal(seen.length, 1);
  });
  afterEach(async () => {
    source.close();
    await cp.close();
  });

  /** Pushes `resources` for `typeUrl` and waits for the client's NACK of it. */
  async function pushExpectingNack(typeUrl: XdsTypeUrl, resources: Parameters<ControlPlaneServer['setRawResources']>[1]): Promise<string> {
    const count = nacks.length;
    const acked = new Promise<string>((resolve) => {
      const onNack = (t: string, message: string) => {
        if (t !== typeUrl) return;
        cp.off('nack', onNack);
        resolve(message);
      };
      cp.on('nack', onNack);
    });
    cp.setRawResources(typeUrl, resources);
    const message = await acked;
    assert.equal(nacks.length, count + 1);
    return message;
  }

  function assertNothingChanged(): void {
    assert.equal(seen.length, 1, 'no snapshot for a refused response');
    assert.equal(source.snapshot, seen[0]);
    for (const r of source.dump().resources) assert.notEqual(r.clientStatus, 'DOES_NOT_EXIST', `${r.name} is still in use`);
  }

  const clusters = () => cp.resources(TYPE_CDS) as ClusterProto[];
  const cluster = (name: string) => clusters().find((c) => c.name === name) as ClusterProto;

  it('keeps every cluster when a CDS response holds a resource that does not decode', async () => {
    const v2 = { ...cluster(V2), connect_timeout: { seconds: '7', nanos: 0 } };
    const message = await pushExpectingNack(TYPE_CDS, [v2, { name: V1, type_url: TYPE_CDS, value: Buffer.from([0x0a, 0xff, 0x01]) }]);
    assert.match(message, /could not be decoded/);
    assertNothingChanged();
    assert.equal(source.snapshot!.clusters.get(V2)!.connectTimeoutMs, 2000, 'the valid cluster beside the bad one is not applied either');
    const v1 = source.dump().resources.find((r) => r.name === V1)!;
    assert.equal(v1.clientStatus, 'ACKED');
  });

  it('refuses lb_policy 99 and a negative or zero connect_timeout', async () => {
    const bad: [Partial<ClusterProto> | Record<string, unknown>, RegExp][] = [
      [{ lb_policy: 99 }, /lb_policy 99/],
      [{ connect_timeout: { seconds: '-1', nanos: 0 } }, /connect_timeout is negative/],
      [{ connect_timeout: { seconds: '0', nanos: 0 } }, /connect_timeout is 0/],
      [{ type: 42 }, /type 42/],
      [{ outlier_detection: { max_ejection_percent: { value: 101 } } }, /max_ejection_percent is 101/],
      [{ common_lb_config: { healthy_panic_threshold: { value: 150 } } }, /healthy_panic_threshold 150/],
      [{ maglev_lb_config: { table_size: { value: 65536 } } }, /not a prime/],
    ];
    const v1 = cluster(V1);
    const v2 = cluster(V2);
    for (const [change, why] of bad) {
      const message = await pushExpectingNack(TYPE_CDS, [{ ...v1, ...change }, v2]);
      assert.match(message, why);
      assertNothingChanged();
      const entry = source.dump().resources.find((r) => r.name === V1)!;
      assert.equal(entry.clientStatus, 'NACKED');
      assert.match(entry.errorState!.details, why);
    }
  });

  it('keeps every endpoint set when one EDS resource has a weight of 0', async () => {
    const assignments = cp.resources(TYPE_EDS) as ClusterLoadAssignmentProto[];
    const v1 = assignments.find((a) => a.cluster_name === V1)!;
    const v2 = assignments.find((a) => a.cluster_name === V2)!;
    const zero = { ...v1, endpoints: v1.endpoints!.map((g) => ({ ...g, lb_endpoints: g.lb_endpoints!.map((e) => ({ ...e, load_balancing_weight: { value: 0 } })) })) };
    const moved = { ...v2, endpoints: v2.endpoints!.map((g) => ({ ...g, lb_endpoints: g.lb_endpoints!.map((e) => ({ ...e, endpoint: { address: { socket_address: { address: '10.9.9.9', port_value: 1 } } } })) })) };
    const message = await pushExpectingNack(TYPE_EDS, [zero, moved]);
    assert.match(message, /load_balancing_weight 0/);
    assertNothingChanged();
    assert.notEqual(defined(source.snapshot!.clusters.get(V2)!.endpoints[0], 'an endpoint').address, '10.9.9.9', 'the valid assignment beside the bad one is not applied');
  });

  it('applies no route configuration of an RDS response that holds an invalid one', async () => {
    const [rc] = cp.resources(TYPE_RDS) as RouteConfigurationProto[];
    const changed = { ...rc, virtual_hosts: [{ name: 'dummy', routes: [{ name: 'all-v1', match: { prefix: '/' }, route: { cluster: V1 } }] }] };
    const broken = { name: `other.svc_1`, virtual_hosts: [{ name: 'dummy', routes: [{ name: 'slow', match: { prefix: '/' }, route: { cluster: V1, timeout: { seconds: '-5' } } }] }] };
    const message = await pushExpectingNack(TYPE_RDS, [changed, broken]);
    assert.match(message, /timeout is negative/);
    assertNothingChanged();
    assert.notDeepEqual(source.snapshot!.routeConfigs.get(RC)!.routes.map((r) => r.name), ['all-v1']);
  });
});
