// The client a worker process opens for its scenario. meta-mesh is loaded
// only by the meta-mesh scenarios, so the raw and two-hop clients' start-up,
// memory and JIT hold nothing but thrift, as in an application without it.
import * as thrift from 'thrift';
import * as Calculator from '../../gen/calculator/js/Calculator';
import type { Caller } from './load-shapes';
import type { ScenarioName } from './scenarios';

export interface ScenarioClient {
  readonly call: Caller;
  close(): Promise<void>;
}

export interface ClientTarget {
  /** raw: the server's port; two-hop: the client-side HAProxy's port. */
  readonly port: number;
  /** meta-mesh scenarios: the YAML written by writeMeshConfig. */
  readonly configFile?: string;
}

type CalculatorClient = { add(a: number, b: number): Promise<number> };

async function meshClient(scenario: ScenarioName, configFile: string): Promise<{ client: CalculatorClient; close: () => Promise<void> }> {
  const [{ Mesh }, { createThriftConnection }, { meshOptions, MESH_HOST, MESH_PORT }] = await Promise.all([
    import('meta-mesh'),
    import('meta-mesh/thrift'),
    import('./scenarios'),
  ]);
  const mesh = await Mesh.start(meshOptions(scenario, configFile));
  const client = thrift.createClient(Calculator, createThriftConnection(mesh, MESH_HOST, MESH_PORT, { transport: 'framed' }));
  return { client, close: () => mesh.close() };
}

/** Opens the scenario's client (framed binary Calculator) and checks a first call answers right. */
export async function openClient(scenario: ScenarioName, target: ClientTarget): Promise<ScenarioClient> {
  let opened: { client: CalculatorClient; close: () => Promise<void> };
  if (scenario === 'raw' || scenario === 'two-hop') {
    const conn = thrift.createConnection('127.0.0.1', target.port, { transport: thrift.TFramedTransport, protocol: thrift.TBinaryProtocol });
    const failed = new Promise<never>((_, reject) => conn.once('error', reject));
    failed.catch(() => undefined);
    conn.on('error', (err: Error) => console.error(`perf client ${scenario}: ${err.message}`));
    opened = { client: thrift.createClient(Calculator, conn), close: async () => conn.end() };
    const sum = await Promise.race([opened.client.add(2, 3), failed]);
    if (sum !== 5) throw new Error(`perf client ${scenario}: add(2, 3) returned ${sum}`);
  } else {
    if (target.configFile === undefined) throw new Error(`scenario ${scenario} needs a mesh config file`);
    opened = await meshClient(scenario, target.configFile);
    const sum = await opened.client.add(2, 3);
    if (sum !== 5) throw new Error(`perf client ${scenario}: add(2, 3) returned ${sum}`);
  }
  const { client } = opened;
  return { call: () => client.add(1, 2), close: opened.close };
}
