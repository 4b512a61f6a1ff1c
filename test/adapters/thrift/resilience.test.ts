import { strict as assert } from 'node:assert';
import * as thrift from 'thrift';
import { Mesh } from 'meta-mesh';
import { createThriftServer } from 'meta-mesh/thrift';
import { calculatorHandler, newServerLog } from '../../../examples/thrift-canary/servers';
import { destination } from '../../support/mesh-yaml';
import { Calculator, HOST, calculatorClient, clientMesh, startFleet, type Fleet } from './support';

describe('Thrift calls under mirrors, deadlines and resets', function () {
  this.timeout(30_000);
  let fleet: Fleet;
  before(async () => {
    fleet = await startFleet(['v1']);
  });
  after(() => fleet.close());

  it('mirrors calls to the shadow subset without waiting for it', async () => {
    // The shadow's add() blocks until the test releases it: if the router waited for the
    // mirror, the primary call could never resolve and this test would time out.
    const serverMesh = await Mesh.start();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const shadowLog = newServerLog();
    const handler = { ...calculatorHandler('shadow', shadowLog), add: async (a: number, b: number) => { shadowLog.calls.add = (shadowLog.calls.add ?? 0) + 1; await gate; return a + b; } };
    const shadow = createThriftServer(serverMesh, Calculator, handler);
    const shadowPort = await shadow.listen(0);
    const routes = `    - name: primary-with-shadow
      route:
${destination(HOST, 'v1')}
      mirror:
        host: ${HOST}
        subset: shadow
      mirrorPercentage:
        value: 100`;
    const { mesh } = await clientMesh([...fleet.endpoints, { port: shadowPort, version: 'shadow' }], routes);
    try {
      const { client } = calculatorClient(mesh);
      const before = fleet.logs.v1!.calls.add ?? 0;
      const sums = await Promise.all(Array.from({ length: 20 }, (_, i) => client.add(i, 1)));
      assert.deepEqual(sums, Array.from({ length: 20 }, (_, i) => i + 1));
      assert.equal((fleet.logs.v1!.calls.add ?? 0) - before, 20);
      for (let i = 0; i < 100 && (shadowLog.calls.add ?? 0) < 16; i++) await new Promise((r) => setTimeout(r, 10));
      // At most 16 mirrors run at once by default; the rest wait in the bounded queue.
      assert.equal(shadowLog.calls.add, 16);
      release();
      for (let i = 0; i < 100 && (shadowLog.calls.add ?? 0) < 20; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(shadowLog.calls.add, 20);
      const mirror = mesh.dump().mirror as { sent: number; dropped: number };
      assert.equal(mirror.sent, 20);
      assert.equal(mirror.dropped, 0);
    } finally {
      release();
      await mesh.close();
      await serverMesh.close();
    }
  });

  it('fails a call past its route timeout with TIMEOUT and keeps the connection usable', async () => {
    const routes = `    - name: slow
      timeout: 100ms
      route:
${destination(HOST, 'v1')}`;
    const { mesh } = await clientMesh(fleet.endpoints, routes);
    try {
      const { client } = calculatorClient(mesh);
      await assert.rejects(client.sleep(1000), (e: Error) => e instanceof thrift.Thrift.TApplicationException && /TIMEOUT/.test(e.message));
      assert.equal(await client.add(2, 2), 4);
    } finally {
      await mesh.close();
    }
  });

  it('fails calls in flight with UPSTREAM_RESET when the server goes away, instead of hanging', async () => {
    const serverMesh = await Mesh.start();
    const doomed = createThriftServer(serverMesh, Calculator, calculatorHandler('doomed'));
    const port = await doomed.listen(0);
    const { mesh } = await clientMesh([{ port, version: 'v1' }]);
    try {
      const { client } = calculatorClient(mesh);
      assert.equal(await client.add(1, 1), 2);
      const inFlight = [client.sleep(5000), client.sleep(5000)];
      await new Promise((r) => setTimeout(r, 50));
      await doomed.close();
      const results = await Promise.allSettled(inFlight);
      for (const r of results) {
        assert.equal(r.status, 'rejected');
        assert.match(String((r as PromiseRejectedResult).reason.message), /UPSTREAM_RESET/);
      }
    } finally {
      await mesh.close();
      await serverMesh.close();
    }
  });
});
