// The peer metadata exchange over Dubbo: the consumer's workload travels as an
// attachment, the provider's comes back as a response attachment, and both
// meshes label istio_requests_total with the other's workload.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Mesh } from 'meta-mesh';
import { createDubboServer } from 'meta-mesh/dubbo';
import { demoClient, dubboMeshYaml, IFACE } from '../adapters/dubbo/support';
import { pointsWhere, registerOtelSdk } from './otel-sdk';

const CONSUMER = { NAMESPACE: 'shop', WORKLOAD_NAME: 'web', LABELS: { app: 'web', version: 'v3' } };
const PROVIDER = { NAMESPACE: 'demo', WORKLOAD_NAME: 'demo-provider-v1', LABELS: { app: 'demo-provider', version: 'v1' } };

describe('peer metadata exchange over Dubbo', function () {
  this.timeout(30_000);

  it('labels both sides\' istio_requests_total with the peer\'s workload', async () => {
    const sdk = registerOtelSdk();
    const serverMesh = await Mesh.start({ telemetry: { metrics: { istio: { enabled: true, nodeMetadata: PROVIDER } } }, logger: () => undefined });
    let mesh: Mesh | undefined;
    try {
      const server = createDubboServer(serverMesh, { services: { [IFACE]: { sayHello: (name: string) => `hello ${name}` } } });
      const port = await server.listen(0);
      const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'meta-mesh-dubbo-mx-')), 'mesh.yaml');
      fs.writeFileSync(file, dubboMeshYaml({ v1: port }));
      mesh = await Mesh.start({ config: file, watch: false, telemetry: { metrics: { istio: { enabled: true, nodeMetadata: CONSUMER } } }, logger: () => undefined });
      const { demo } = demoClient(mesh);
      for (let i = 0; i < 3; i++) assert.equal((await demo.sayHello('mesh')).res, 'hello mesh');
      const requests = (await sdk.collect()).get('istio_requests_total');
      const [source] = pointsWhere<number>(requests, { reporter: 'source' });
      assert.equal(source!.value, 3);
      assert.equal(source!.attributes['destination_workload'], 'demo-provider-v1');
      assert.equal(source!.attributes['destination_app'], 'demo-provider');
      assert.equal(source!.attributes['request_protocol'], 'dubbo');
      const [destination] = pointsWhere<number>(requests, { reporter: 'destination' });
      assert.equal(destination!.value, 3);
      assert.equal(destination!.attributes['source_workload'], 'web');
      assert.equal(destination!.attributes['source_workload_namespace'], 'shop');
      assert.equal(destination!.attributes['source_version'], 'v3');
    } finally {
      await mesh?.close();
      await serverMesh.close();
      await sdk.shutdown();
    }
  });
});
