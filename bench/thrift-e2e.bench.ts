// End-to-end Thrift throughput and latency: a raw thrift client against the
// same server as a meta-mesh client, interleaved in one run (A B A B ...), so
// machine noise hits both alike. The server runs in its own process.
import { forkServer } from './support/fork-server';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as thrift from 'thrift';
import { Mesh } from 'meta-mesh';
import { createThriftConnection } from 'meta-mesh/thrift';
import * as Calculator from '../gen/calculator/js/Calculator';
import { closedLoop, summarize, type LoadResult } from './support/load';
import { runBench } from './support/run-bench';

export interface ThriftE2eOptions {
  concurrency?: number;
  calls?: number;
  rounds?: number;
}

function startServer(): ReturnType<typeof forkServer> {
  return forkServer(path.join(__dirname, 'support/raw-thrift-server.js'), ['framed']);
}

function yaml(port: number): string {
  return `apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: calc}
spec:
  hosts: [calc.bench.svc]
  ports: [{number: 9090, name: tcp-metaprotocol-thrift, protocol: TCP}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1, ports: {tcp-metaprotocol-thrift: ${port}}}]
`;
}

export async function runThriftE2eBench(options: ThriftE2eOptions = {}): Promise<Record<string, unknown>> {
  const concurrency = options.concurrency ?? 64;
  const calls = options.calls ?? 50_000;
  const rounds = options.rounds ?? 3;
  const { child, port } = await startServer();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meta-mesh-bench-'));
  fs.writeFileSync(path.join(dir, 'mesh.yaml'), yaml(port));
  const mesh = await Mesh.start({ config: path.join(dir, 'mesh.yaml'), watch: false });
  const rawConn = thrift.createConnection('127.0.0.1', port, { transport: thrift.TFramedTransport, protocol: thrift.TBinaryProtocol });
  const raw = thrift.createClient(Calculator, rawConn);
  const meshed = thrift.createClient(Calculator, createThriftConnection(mesh, 'calc.bench.svc', 9090, { transport: 'framed' }));
  // Warm both paths (JIT, connections).
  await closedLoop(() => raw.add(1, 2), concurrency, 5000);
  await closedLoop(() => meshed.add(1, 2), concurrency, 5000);
  const results: { raw: LoadResult[]; mesh: LoadResult[] } = { raw: [], mesh: [] };
  for (let r = 0; r < rounds; r++) {
    results.raw.push(await closedLoop(() => raw.add(1, 2), concurrency, calls));
    results.mesh.push(await closedLoop(() => meshed.add(1, 2), concurrency, calls));
  }
  rawConn.end();
  await mesh.close();
  child.kill();
  const rawS = summarize(results.raw);
  const meshS = summarize(results.mesh);
  return {
    concurrency,
    callsPerRound: calls,
    rounds,
    raw: rawS,
    mesh: meshS,
    throughputRatio: Number((meshS.callsPerSecond / rawS.callsPerSecond).toFixed(3)),
    clientCpuRatio: Number((meshS.cpuUsPerCall / rawS.cpuUsPerCall).toFixed(3)),
  };
}

runBench(module, () => runThriftE2eBench(process.env.BENCH_QUICK === '1' ? { calls: 5_000, rounds: 2 } : {}));
