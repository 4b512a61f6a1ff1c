// The thrift-canary demo: two Calculator versions, a MetaRouter that sends
// add() to v2 and splits everything else 80/20, and a client that shows where
// its calls went. Run with `npm run demo`; no external service is needed.
import * as path from 'node:path';
import * as thrift from 'thrift';
import { Mesh } from 'meta-mesh';
import { createThriftConnection } from 'meta-mesh/thrift';
import * as Calculator from '../../gen/calculator/js/Calculator';
import { newServerLog, startCalculatorServer } from './servers';

const HOST = 'calculator.demo.svc.cluster.local';
const CALLS = Number(process.env.CALLS ?? 2000);
/** The servers' ports and the config naming them: tests run the demo on free ports with their own copy. */
const V1_PORT = Number(process.env.V1_PORT ?? 19091);
const V2_PORT = Number(process.env.V2_PORT ?? 19092);

async function main(): Promise<void> {
  // The YAML sits beside this file's TypeScript source; the compiled file runs from dist/.
  const config = process.env.MESH_CONFIG ?? path.resolve(__dirname, '../../../examples/thrift-canary/mesh.yaml');
  const mesh = await Mesh.start({ config });
  const logs = { v1: newServerLog(), v2: newServerLog() };
  await startCalculatorServer(mesh, 'v1', V1_PORT, logs.v1);
  await startCalculatorServer(mesh, 'v2', V2_PORT, logs.v2);

  const conn = createThriftConnection(mesh, HOST, 9090);
  const client = thrift.createClient(Calculator, conn);

  console.log(`add(2, 3) = ${await client.add(2, 3)}`);
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CALLS }, (_, i) => (i % 4 === 0 ? client.add(i, 1) : i % 4 === 1 ? client.subtract(i, 1) : client.version())),
  );
  const ms = performance.now() - started;

  console.log(`\n${CALLS} calls in ${ms.toFixed(0)} ms. Where they went (route add-to-v2 for add, 80/20 canary for the rest):\n`);
  console.log('  method      v1      v2     v2 share');
  for (const method of ['add', 'subtract', 'version']) {
    const v1 = logs.v1.calls[method] ?? 0;
    const v2 = logs.v2.calls[method] ?? 0;
    const share = v1 + v2 === 0 ? 0 : (100 * v2) / (v1 + v2);
    console.log(`  ${method.padEnd(9)} ${String(v1).padStart(5)}   ${String(v2).padStart(5)}   ${share.toFixed(1).padStart(6)}%`);
  }
  console.log(`\nconfig version ${mesh.snapshot.version}; edit examples/thrift-canary/mesh.yaml while it runs and the next calls follow it.`);
  await mesh.close();
}

main().catch((err: unknown) => {
  console.error(err);
  // Servers and meshes started before the failure would keep the process alive: end it.
  process.exit(1);
});
