// A meta-mesh Thrift Calculator server in its own process, for the peer
// metadata exchange test: its workload metadata comes from the environment
// Istio injects, it reports Istio metrics to an in-memory SDK, and it sends
// them to the parent (IPC) when asked.
import { Mesh } from 'meta-mesh';
import { createThriftServer } from 'meta-mesh/thrift';
import * as Calculator from '../../gen/calculator/js/Calculator';
import { calculatorHandler } from '../../examples/thrift-canary/servers';
import { pointsWhere, registerOtelSdk } from '../telemetry/otel-sdk';

async function main(): Promise<void> {
  const sdk = registerOtelSdk();
  const mesh = await Mesh.start({ telemetry: { metrics: { istio: { enabled: true } } }, logger: () => undefined });
  const server = createThriftServer(mesh, Calculator, calculatorHandler('v2'));
  const port = await server.listen(0);
  process.on('message', (message: unknown) => {
    if (message === 'metrics') {
      void sdk.collect().then((metrics) => {
        process.send!({
          requests: pointsWhere(metrics.get('istio_requests_total'), {}),
          requestBytes: pointsWhere(metrics.get('istio_request_bytes'), {}),
        });
      });
    } else if (message === 'exit') {
      void mesh.close().then(() => sdk.shutdown()).then(() => process.exit(0));
    }
  });
  process.send!({ port });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
