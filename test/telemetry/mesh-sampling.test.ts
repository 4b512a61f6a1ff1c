// The Mesh applies the tracing sampling its config carries for a service
// (RouteConfig.tracing, which LDS fills from the MetaProtocolProxy listener)
// over the telemetry options, and follows config changes.
import { strict as assert } from 'node:assert';
import { SpanKind } from '@opentelemetry/api';
import { Mesh, type Snapshot } from 'meta-mesh';
import { calculatorClient, HOST, PORT, startFleet, type Fleet } from '../adapters/thrift/support';
import { writeMeshYaml } from '../support/mesh-yaml';
import { registerTracing, resetOtelGlobals } from './otel-sdk';

function withTracing(snapshot: Snapshot, tracing: { random_sampling: number }): Snapshot {
  const routeConfigs = new Map(snapshot.routeConfigs);
  const rc = routeConfigs.get(`${HOST}_${PORT}`)!;
  routeConfigs.set(rc.name, { ...rc, tracing });
  return { ...snapshot, routeConfigs, version: `${snapshot.version}-traced` };
}

describe('Mesh: tracing sampling from the route config', function () {
  this.timeout(30_000);
  let fleet: Fleet;
  before(async () => {
    fleet = await startFleet(['v1']);
  });
  after(() => fleet.close());
  afterEach(() => resetOtelGlobals());

  it('samples by the listener\'s random_sampling over the options, and follows a config change', async () => {
    resetOtelGlobals();
    const { spans, provider } = registerTracing();
    const mesh = await Mesh.start({ config: writeMeshYaml({ host: HOST, port: PORT, endpoints: fleet.endpoints }), watch: false, telemetry: { tracing: { random_sampling: 100 } }, logger: () => undefined });
    try {
      const { client } = calculatorClient(mesh);
      const clientSpans = () => spans.getFinishedSpans().filter((s) => s.kind === SpanKind.CLIENT).length;
      for (let i = 0; i < 5; i++) await client.add(i, 1);
      assert.equal(clientSpans(), 5, 'the options sample every call');
      mesh.applySnapshot(withTracing(mesh.snapshot, { random_sampling: 0 }));
      for (let i = 0; i < 5; i++) await client.add(i, 1);
      assert.equal(clientSpans(), 5, 'the listener samples none');
    } finally {
      await mesh.close();
      await provider.shutdown();
    }
  });
});
