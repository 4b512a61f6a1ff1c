import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as thrift from 'thrift';
import { Mesh } from 'meta-mesh';
import { createThriftServer } from 'meta-mesh/thrift';
import { calculatorHandler, newServerLog } from '../../examples/thrift-canary/servers';
import { meshYaml, writeMeshYaml } from '../support/mesh-yaml';
import { Calculator, HOST, PORT, calculatorClient } from '../adapters/thrift/support';

const routes = `    - name: all
      route:
        - destination:
            host: ${HOST}
  localRateLimit:
    tokenBucket:
      maxTokens: 5
      tokensPerFill: 5
      fillInterval: 1h
    conditions:
      - match:
          attributes:
            method:
              exact: version
        tokenBucket:
          maxTokens: 2
          fillInterval: 1h`;

describe('MetaRouter localRateLimit on a meta-mesh server', function () {
  this.timeout(30_000);

  it('refuses calls over the bucket with OVER_LIMIT, per condition, before the handler runs', async () => {
    // The server's mesh reads the same manifests: the MetaRouter for the host it serves applies inbound.
    const serverMesh = await Mesh.start({ snapshot: undefined, config: writeMeshYaml({ host: HOST, port: PORT, endpoints: [], routes }), logger: () => undefined });
    const log = newServerLog();
    const server = createThriftServer(serverMesh, Calculator, calculatorHandler('v1', log), { service: { host: HOST, port: PORT } });
    const port = await server.listen(0);
    const file = writeMeshYaml({ host: HOST, port: PORT, endpoints: [{ port, version: 'v1' }] });
    const clientMesh = await Mesh.start({ config: file, logger: () => undefined });
    try {
      const { client } = calculatorClient(clientMesh);
      const versions = await Promise.allSettled([client.version(), client.version(), client.version()]);
      assert.deepEqual(versions.map((r) => r.status), ['fulfilled', 'fulfilled', 'rejected']);
      const refused = (versions[2] as PromiseRejectedResult).reason as Error;
      assert.ok(refused instanceof thrift.Thrift.TApplicationException);
      assert.match(refused.message, /OVER_LIMIT/);
      assert.equal(log.calls.version, 2);
      // Other methods use the default bucket of 5.
      const adds = await Promise.allSettled(Array.from({ length: 7 }, (_, i) => client.add(i, 1)));
      assert.equal(adds.filter((r) => r.status === 'fulfilled').length, 5);
      assert.equal(log.calls.add, 5);
    } finally {
      await clientMesh.close();
      await serverMesh.close();
    }
  });

  it('keeps the buckets through an unrelated config reload and rebuilds them when the limit changes', async () => {
    const serverFile = writeMeshYaml({ host: HOST, port: PORT, endpoints: [], routes });
    const serverMesh = await Mesh.start({ config: serverFile, logger: () => undefined });
    const server = createThriftServer(serverMesh, Calculator, calculatorHandler('v1'), { service: { host: HOST, port: PORT } });
    const port = await server.listen(0);
    const clientMesh = await Mesh.start({ config: writeMeshYaml({ host: HOST, port: PORT, endpoints: [{ port, version: 'v1' }] }), logger: () => undefined });
    try {
      const { client } = calculatorClient(clientMesh);
      await client.version();
      await client.version();
      await assert.rejects(client.version(), /OVER_LIMIT/);
      // An edit that leaves the limit alone (a new endpoint) does not refill the bucket.
      let reloaded = new Promise((r) => serverMesh.once('config', r));
      fs.writeFileSync(serverFile, meshYaml({ host: HOST, port: PORT, endpoints: [{ port: 1, version: 'v9' }], routes }));
      await reloaded;
      await assert.rejects(client.version(), /OVER_LIMIT/);
      // Raising the limit builds a new, full bucket.
      reloaded = new Promise((r) => serverMesh.once('config', r));
      fs.writeFileSync(serverFile, meshYaml({ host: HOST, port: PORT, endpoints: [], routes: routes.replace('maxTokens: 2', 'maxTokens: 3') }));
      await reloaded;
      assert.equal(await client.version(), 'v1');
    } finally {
      await clientMesh.close();
      await serverMesh.close();
    }
  });
});
