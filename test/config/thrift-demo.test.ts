// The Aeraki thrift demo (ServiceEntry + DestinationRule + MetaRouter) loaded
// from a directory and checked field by field against the model.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Snapshot, loadConfigFiles, snapshotToJSON } from '../../lib/config';
import { THRIFT_DEMO } from './fixtures';
import { defined } from '../support/defined';

const HOST = 'thrift-sample-server.meta-thrift.svc.cluster.local';

describe('thrift demo manifests', () => {
  let snapshot: Snapshot;

  before(async () => {
    snapshot = await loadConfigFiles([THRIFT_DEMO], { version: 'demo-1' });
  });

  it('takes the version from the options', () => {
    assert.equal(snapshot.version, 'demo-1');
  });

  it('declares one service per host and port with its protocol token', () => {
    assert.deepEqual([...snapshot.services.keys()], [`${HOST}:9090`]);
    assert.deepEqual(snapshot.services.get(`${HOST}:9090`), {
      host: HOST,
      port: 9090,
      portName: 'tcp-metaprotocol-thrift-hello-server',
      protocol: 'thrift',
      routeConfigName: `${HOST}_9090`,
    });
  });

  it('builds the whole-service cluster with every endpoint and the top-level policy', () => {
    const c = snapshot.clusters.get(`outbound|9090||${HOST}`);
    assert.ok(c);
    assert.equal(c.host, HOST);
    assert.equal(c.port, 9090);
    assert.equal(c.subset, '');
    assert.equal(c.lbPolicy, 'LEAST_REQUEST'); // LEAST_CONN is Istio's old name for it
    assert.equal(c.connectTimeoutMs, 2000);
    assert.deepEqual(c.endpoints, [
      {
        address: '10.0.0.11',
        port: 9090,
        labels: { app: 'thrift-sample-server', version: 'v1' },
        weight: 1,
        locality: { region: 'us-east1', zone: 'us-east1-b', subZone: 'rack-7' },
      },
      { address: '10.0.0.12', port: 19090, labels: { app: 'thrift-sample-server', version: 'v2' }, weight: 3 },
    ]);
  });

  it('builds one cluster per subset holding the endpoints whose labels match', () => {
    const v1 = snapshot.clusters.get(`outbound|9090|v1|${HOST}`);
    const v2 = snapshot.clusters.get(`outbound|9090|v2|${HOST}`);
    assert.ok(v1 && v2);
    assert.deepEqual(v1.endpoints.map((e) => e.address), ['10.0.0.11']);
    assert.deepEqual(v2.endpoints.map((e) => `${e.address}:${e.port}`), ['10.0.0.12:19090']);
    assert.equal(v1.subset, 'v1');
    assert.equal(snapshot.clusters.size, 3);
  });

  it('lets a subset policy override the load balancer but keep the top-level connect timeout', () => {
    const v1 = snapshot.clusters.get(`outbound|9090|v1|${HOST}`);
    const v2 = snapshot.clusters.get(`outbound|9090|v2|${HOST}`);
    assert.equal(v1?.lbPolicy, 'LEAST_REQUEST');
    assert.equal(v2?.lbPolicy, 'RING_HASH');
    assert.equal(v2?.connectTimeoutMs, 2000);
  });

  it('routes method add to the v2 subset with mutations, timeout and retries', () => {
    const config = snapshot.routeConfigs.get(`${HOST}_9090`);
    assert.ok(config);
    assert.equal(config.name, `${HOST}_9090`);
    assert.equal(config.routes.length, 2);
    const add = defined(config.routes[0], 'route add-to-v2');
    assert.equal(add.name, 'add-to-v2');
    assert.deepEqual(add.match, [{ name: 'method', kind: 'exact', value: 'add' }]);
    assert.deepEqual(add.clusters, [{ cluster: `outbound|9090|v2|${HOST}`, weight: 1 }]);
    assert.deepEqual(add.hashPolicy, ['user-id']);
    assert.deepEqual(add.mirrors, []);
    assert.deepEqual(add.requestMutation, [['foo', 'bar']]);
    assert.deepEqual(add.responseMutation, [['foo1', 'bar1']]);
    assert.equal(add.timeoutMs, 1500);
    assert.deepEqual(add.retries, { attempts: 2, perTryTimeoutMs: 500, retryOn: ['connect-failure', 'reset'] });
    assert.equal(add.fault, undefined);
  });

  it('splits the rest 80/20 over v1 and v2, mirrors 10% to v2 and injects aborts', () => {
    const rest = snapshot.routeConfigs.get(`${HOST}_9090`)?.routes[1];
    assert.ok(rest);
    assert.equal(rest.name, 'split-the-rest');
    assert.deepEqual(rest.match, []);
    assert.deepEqual(rest.clusters, [
      { cluster: `outbound|9090|v1|${HOST}`, weight: 80 },
      { cluster: `outbound|9090|v2|${HOST}`, weight: 20 },
    ]);
    // Only v2's rule sets a hash key; a route carries the keys of all its destinations.
    assert.deepEqual(rest.hashPolicy, ['user-id']);
    assert.deepEqual(rest.mirrors, [{ cluster: `outbound|9090|v2|${HOST}`, fraction: 0.1 }]);
    assert.deepEqual(rest.fault, { abort: { fraction: 0.05, errorCode: 'UNAVAILABLE' } });
    assert.equal(rest.timeoutMs, undefined);
    assert.equal(rest.retries, undefined);
  });

  it('warns that the Deployment in the same directory is ignored, naming its file and line', () => {
    const file = join(THRIFT_DEMO, '20-destination-rule.yaml');
    // The list of kinds read grows as kinds are added; the start of the line is the contract here.
    assert.equal(snapshot.warnings.length, 1);
    assert.ok(
      snapshot.warnings[0]!.startsWith(`${file}:28: Deployment meta-thrift/thrift-sample-server-v1 (document 2): kind: 'Deployment' (apps/v1) is ignored; meta-mesh reads ServiceEntry, DestinationRule, WorkloadEntry, MetaRouter`),
      snapshot.warnings[0],
    );
  });

  it('returns frozen model objects', () => {
    const route = snapshot.routeConfigs.get(`${HOST}_9090`)?.routes[0];
    assert.ok(Object.isFrozen(route));
    assert.ok(Object.isFrozen(route?.clusters));
    assert.ok(Object.isFrozen(snapshot.clusters.get(`outbound|9090||${HOST}`)?.endpoints[0]));
  });

  it('dumps to plain JSON with maps as objects', () => {
    const json = snapshotToJSON(snapshot);
    assert.equal(json.version, 'demo-1');
    assert.deepEqual(Object.keys(json.clusters), [`outbound|9090||${HOST}`, `outbound|9090|v1|${HOST}`, `outbound|9090|v2|${HOST}`]);
    assert.deepEqual(json.routeConfigs[`${HOST}_9090`]?.routes[0]?.requestMutation, [['foo', 'bar']]);
    assert.deepEqual(JSON.parse(JSON.stringify(json)), json);
  });
});
