// The last-good cache file is written in steps, one resource each, from lists
// taken when the config was applied; what readLastGood reads back is what was
// taken, Buffers (an Any's value) included.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runNow } from '../../lib/config/sliced-work';
import type { ClusterLoadAssignmentProto, ClusterProto, RouteConfigurationProto } from '../../lib/xds/envoy-types';
import { type CacheLists, lastGoodSteps, readLastGood, writeLastGoodText } from '../../lib/xds/last-good-cache';

describe('last-good cache file', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meta-mesh-cache-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const route: RouteConfigurationProto = { name: 'svc_9090', virtual_hosts: [{ name: 'v', routes: [] }] };
  const cluster = { name: 'outbound|9090||svc', type: 'EDS', transport_socket: { name: 'tls', typed_config: { type_url: 't', value: Buffer.from([1, 2, 255]) } } } as unknown as ClusterProto;
  const assignment = (port: number): ClusterLoadAssignmentProto => ({
    cluster_name: 'outbound|9090||svc',
    endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '10.0.0.1', port_value: port } } } }] }],
  });

  it('reads back what was taken, one step per resource, a resource read only as it is written', async () => {
    let reads = 0;
    const lists: CacheLists = {
      routeConfigurations: { version: '3', resources: [() => route] },
      clusters: { version: '10', resources: [() => cluster] },
      assignments: {
        version: '7',
        resources: [
          () => (reads++, assignment(1)),
          () => undefined, // a kept entry with nothing to write
          () => (reads++, assignment(2)),
        ],
      },
    };
    const steps = lastGoodSteps(lists);
    let yields = 0;
    let r = steps.next();
    while (r.done !== true) {
      yields++;
      if (yields === 2) assert.equal(reads, 0, 'an assignment was read before its turn');
      r = steps.next();
    }
    assert.equal(yields, 4, 'one step per resource written');
    assert.equal(reads, 2);
    const file = path.join(dir, 'last-good.json');
    await writeLastGoodText(file, r.value);
    const back = await readLastGood(file);
    assert.ok(back !== undefined, 'the file did not read back');
    assert.deepEqual(back.routeConfigurations, { version: '3', resources: [route] });
    assert.deepEqual(back.clusters, { version: '10', resources: [cluster] });
    assert.ok(Buffer.isBuffer((back.clusters.resources[0] as unknown as typeof cluster & { transport_socket: { typed_config: { value: Buffer } } }).transport_socket.typed_config.value));
    assert.deepEqual(back.assignments, { version: '7', resources: [assignment(1), assignment(2)] });
    assert.equal(back.listeners, undefined);
    assert.deepEqual(fs.readdirSync(dir), ['last-good.json'], 'the temp file was left behind');
  });

  it('writes listeners when given, an empty list included', async () => {
    const file = path.join(dir, 'last-good.json');
    const empty = { version: '', resources: [] };
    await writeLastGoodText(file, runNow(lastGoodSteps({ routeConfigurations: empty, clusters: empty, assignments: empty, listeners: { version: 'l1', resources: [] } })));
    assert.deepEqual((await readLastGood(file))?.listeners, { version: 'l1', resources: [] });
  });
});
