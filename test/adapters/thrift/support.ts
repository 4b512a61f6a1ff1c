// Shared set-up for the Thrift end-to-end tests: meta-mesh Calculator servers
// per version and a client mesh built from generated YAML.
import * as thrift from 'thrift';
import { Mesh } from 'meta-mesh';
import { createThriftConnection, type ThriftConnectionOptions, type ThriftServer } from 'meta-mesh/thrift';
import * as Calculator from '../../../gen/calculator/js/Calculator';
import { newServerLog, startCalculatorServer, type ServerLog } from '../../../examples/thrift-canary/servers';
import { writeMeshYaml, type TestEndpoint } from '../../support/mesh-yaml';

export const HOST = 'calc.test.svc';
export const PORT = 9090;

export interface Fleet {
  serverMesh: Mesh;
  servers: Record<string, ThriftServer>;
  logs: Record<string, ServerLog>;
  endpoints: TestEndpoint[];
  close(): Promise<void>;
}

/** One meta-mesh Calculator server per version, on free ports. */
export async function startFleet(versions: readonly string[]): Promise<Fleet> {
  const serverMesh = await Mesh.start();
  const servers: Record<string, ThriftServer> = {};
  const logs: Record<string, ServerLog> = {};
  const endpoints: TestEndpoint[] = [];
  for (const v of versions) {
    logs[v] = newServerLog();
    servers[v] = await startCalculatorServer(serverMesh, v, 0, logs[v]);
    endpoints.push({ port: servers[v]!.port, version: v });
  }
  return { serverMesh, servers, logs, endpoints, close: () => serverMesh.close() };
}

export async function clientMesh(endpoints: readonly TestEndpoint[], routes?: string): Promise<{ mesh: Mesh; file: string }> {
  const file = writeMeshYaml({ host: HOST, port: PORT, endpoints, routes });
  const mesh = await Mesh.start({ config: file, logger: () => undefined });
  return { mesh, file };
}

export function calculatorClient(mesh: Mesh, options?: ThriftConnectionOptions) {
  const conn = createThriftConnection(mesh, HOST, PORT, options);
  return { conn, client: thrift.createClient(Calculator, conn) };
}

export { Calculator };
