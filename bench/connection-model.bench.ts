// The two connection models side by side (issue 17 item 2), in one run:
// - against the Node thrift server (answers many calls per connection): a raw
//   thrift client, meta-mesh non-multiplexed (one call in flight per pooled
//   connection, Thrift's default) and meta-mesh multiplexed; rounds
//   interleaved so machine noise hits all alike; ratios are to raw;
// - against a one-call-per-connection server (Python TThreadedServer): calls of
//   5 ms each, where the non-multiplexed model runs calls in parallel and the
//   multiplexed one (like a raw client's single connection) queues them.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as thrift from 'thrift';
import { Mesh } from 'meta-mesh';
import { createThriftConnection } from 'meta-mesh/thrift';
import * as Calculator from '../gen/calculator/js/Calculator';
import { startPythonServer } from '../test/support/python-server';
import { forkServer } from './support/fork-server';
import { closedLoop, summarize, type LoadResult } from './support/load';

function yaml(port: number): string {
  const se = (name: string, mux: boolean) => `apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: ${name}}
spec:
  hosts: [${name}.bench.svc]
  ports: [{number: 9090, name: tcp-metaprotocol-thrift, protocol: TCP}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1, ports: {tcp-metaprotocol-thrift: ${port}}}]
---
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: ${name}}
spec:
  host: ${name}.bench.svc
  trafficPolicy: {connectionPool: {multiplexing: ${mux}}}
`;
  return `${se('one', false)}---\n${se('mux', true)}`;
}

async function meshFor(port: number): Promise<Mesh> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meta-mesh-bench-'));
  fs.writeFileSync(path.join(dir, 'mesh.yaml'), yaml(port));
  return Mesh.start({ config: path.join(dir, 'mesh.yaml'), watch: false });
}

type Client = { add(a: number, b: number): Promise<number>; sleep(ms: number): Promise<number> };
const ratio = (a: number, b: number) => Number((a / b).toFixed(3));

async function interleaved(clients: Record<string, Client>, call: (c: Client) => Promise<unknown>, concurrency: number, calls: number, rounds: number) {
  const results: Record<string, LoadResult[]> = {};
  for (const name of Object.keys(clients)) {
    results[name] = [];
    await closedLoop(() => call(clients[name]!), concurrency, Math.min(calls, 2000));
  }
  for (let r = 0; r < rounds; r++) for (const [name, c] of Object.entries(clients)) results[name]!.push(await closedLoop(() => call(c), concurrency, calls));
  return Object.fromEntries(Object.entries(results).map(([k, v]) => [k, summarize(v)]));
}

/** A raw thrift client and a meta-mesh client in each model, all calling the server on `port`. */
async function clientsFor(port: number): Promise<{ clients: Record<string, Client>; close(): Promise<void> }> {
  const mesh = await meshFor(port);
  const rawConn = thrift.createConnection('127.0.0.1', port, { transport: thrift.TFramedTransport, protocol: thrift.TBinaryProtocol });
  const clients: Record<string, Client> = {
    raw: thrift.createClient(Calculator, rawConn),
    nonMultiplexed: thrift.createClient(Calculator, createThriftConnection(mesh, 'one.bench.svc', 9090, { transport: 'framed' })),
    multiplexed: thrift.createClient(Calculator, createThriftConnection(mesh, 'mux.bench.svc', 9090, { transport: 'framed' })),
  };
  return {
    clients,
    close: async () => {
      rawConn.end();
      await mesh.close();
    },
  };
}

export async function runConnectionModelBench(quick: boolean): Promise<Record<string, unknown>> {
  // Against the Node server.
  const node = await forkServer(path.join(__dirname, 'support/raw-thrift-server.js'), ['framed']);
  const onNodeSet = await clientsFor(node.port);
  const concurrency = 16;
  const onNode = await interleaved(onNodeSet.clients, (c) => c.add(1, 2), concurrency, quick ? 4_000 : 20_000, quick ? 2 : 3);
  await onNodeSet.close();
  node.child.kill();

  // Against a server that answers one call at a time per connection.
  const py = await startPythonServer('framed', 'binary', 'bench');
  const onPySet = await clientsFor(py.port);
  const onPython = await interleaved(onPySet.clients, (c) => c.sleep(5), 8, quick ? 200 : 600, 2);
  await onPySet.close();
  await py.stop();

  const cps = (r: Record<string, { callsPerSecond: number }>, k: string) => r[k]!.callsPerSecond;
  return {
    nodeServer: {
      concurrency,
      ...onNode,
      ratioToRaw: { nonMultiplexed: ratio(cps(onNode, 'nonMultiplexed'), cps(onNode, 'raw')), multiplexed: ratio(cps(onNode, 'multiplexed'), cps(onNode, 'raw')) },
    },
    oneCallPerConnectionServer: {
      concurrency: 8,
      call: 'sleep(5 ms)',
      ...onPython,
      nonMultiplexedOverMultiplexed: ratio(cps(onPython, 'nonMultiplexed'), cps(onPython, 'multiplexed')),
      nonMultiplexedOverRawSingleConnection: ratio(cps(onPython, 'nonMultiplexed'), cps(onPython, 'raw')),
    },
  };
}

if (require.main === module) {
  runConnectionModelBench(process.env.BENCH_QUICK === '1').then((r) => console.log(JSON.stringify(r, null, 2)));
}
