// Mesh.start({ telemetry }) puts the telemetry filters at the front of both
// chains: ahead of the MetaRouter rate limits inbound, so refused calls are
// counted, and ahead of routing outbound.
import { strict as assert } from 'node:assert';
import { Mesh } from 'meta-mesh';
import { createThriftServer } from 'meta-mesh/thrift';
import { calculatorHandler } from '../../examples/thrift-canary/servers';
import { writeMeshYaml } from '../support/mesh-yaml';
import { Calculator, HOST, PORT, calculatorClient } from '../adapters/thrift/support';
import { pointsWhere, registerOtelSdk, type OtelSdk } from './otel-sdk';

describe('Mesh.start({ telemetry })', function () {
  this.timeout(30_000);
  let sdk: OtelSdk;
  before(() => {
    sdk = registerOtelSdk();
  });
  after(() => sdk.shutdown());

  it('counts calls the inbound rate limit refuses, and records client and server durations', async () => {
    const routes = `    - name: all\n      route:\n        - destination:\n            host: ${HOST}\n  localRateLimit:\n    tokenBucket:\n      maxTokens: 3\n      fillInterval: 1h`;
    const serverMesh = await Mesh.start({ config: writeMeshYaml({ host: HOST, port: PORT, endpoints: [], routes }), telemetry: { metrics: true }, logger: () => undefined });
    const server = createThriftServer(serverMesh, Calculator, calculatorHandler('v1'), { service: { host: HOST, port: PORT } });
    const port = await server.listen(0);
    const clientMesh = await Mesh.start({ config: writeMeshYaml({ host: HOST, port: PORT, endpoints: [{ port, version: 'v1' }] }), telemetry: { metrics: true, tracing: true }, logger: () => undefined });
    try {
      const { client } = calculatorClient(clientMesh);
      const results = await Promise.allSettled(Array.from({ length: 5 }, (_, i) => client.add(i, 1)));
      assert.equal(results.filter((r) => r.status === 'rejected').length, 2);
      const metrics = await sdk.collect();
      const refused = pointsWhere<number>(metrics.get('meta_mesh.local_replies'), { 'meta_mesh.reason': 'OVER_LIMIT', 'meta_mesh.direction': 'inbound' });
      assert.equal(refused.reduce((n, p) => n + p.value, 0), 2);
      const served = pointsWhere<{ count: number }>(metrics.get('rpc.server.call.duration'), {});
      assert.equal(served.reduce((n, p) => n + p.value.count, 0), 5);
      const called = pointsWhere<{ count: number }>(metrics.get('rpc.client.call.duration'), {});
      assert.equal(called.reduce((n, p) => n + p.value.count, 0), 5);
      assert.ok(sdk.spans.getFinishedSpans().length >= 5);
    } finally {
      await clientMesh.close();
      await serverMesh.close();
    }
  });
});
