// Mutual TLS cost end to end (issue 18 target: meta-mesh ≥ 0.90× the
// throughput of a raw thrift client over the same TLS): a raw thrift client
// (thrift.createSSLConnection with the workload certificate) and a meta-mesh
// client (DestinationRule ISTIO_MUTUAL with the same identity) call the same
// thrift server, which requires client certificates, in its own process.
// The meta-mesh client runs twice: multiplexed over one connection, the raw
// client's own connection model (DestinationRule connectionPool.multiplexing),
// and with Thrift's default, one call in flight per connection (a pool of up
// to 64 TLS connections at concurrency 64).
// Rounds are interleaved (A B A B ...) so machine noise hits both alike;
// client CPU per call is measured the same way for both.
// Run: node dist/bench/mtls.bench.js (prints figures, asserts nothing).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as thrift from 'thrift';
import { Mesh } from 'meta-mesh';
import { createThriftConnection } from 'meta-mesh/thrift';
import * as Calculator from '../gen/calculator/js/Calculator';
import { createSpiffePki } from '../test/support/spiffe-pki';
import { forkServer } from './support/fork-server';
import { closedLoop, summarize, type LoadResult } from './support/load';

const quick = process.env.BENCH_QUICK === '1';

async function main(): Promise<void> {
  const concurrency = 64;
  const calls = quick ? 5_000 : 40_000;
  const rounds = quick ? 2 : 3;
  const pki = createSpiffePki();
  const server = pki.workload('server', 'shop', 'calc');
  const client = pki.workload('client', 'front', 'web');
  const { child, port } = await forkServer(path.join(__dirname, 'support/raw-thrift-tls-server.js'), [server.certificateFile, server.privateKeyFile, server.caCertificateFile]);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meta-mesh-bench-mtls-'));
  const service = (name: string, multiplexing: boolean) => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ${name}, namespace: shop}
spec:
  hosts: [${name}.bench.svc]
  ports: [{number: 9090, name: tcp-metaprotocol-thrift}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1, ports: {tcp-metaprotocol-thrift: ${port}}, serviceAccount: calc}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ${name}, namespace: shop}
spec:
  host: ${name}.bench.svc
  trafficPolicy: {tls: {mode: ISTIO_MUTUAL}, connectionPool: {multiplexing: ${multiplexing}}}
`;
  fs.writeFileSync(path.join(dir, 'mesh.yaml'), `${service('calc', true)}---\n${service('calc-pool', false)}`);
  const mesh = await Mesh.start({ config: path.join(dir, 'mesh.yaml'), watch: false, identity: client });
  const rawConn = thrift.createSSLConnection('127.0.0.1', port, {
    transport: thrift.TFramedTransport,
    protocol: thrift.TBinaryProtocol,
    cert: fs.readFileSync(client.certificateFile),
    key: fs.readFileSync(client.privateKeyFile),
    ca: fs.readFileSync(client.caCertificateFile),
    // The raw client checks the CA only, as ISTIO_MUTUAL does plus its SAN check.
    checkServerIdentity: () => undefined,
  } as unknown as thrift.ConnectOptions);
  const raw = thrift.createClient(Calculator, rawConn);
  const meshed = thrift.createClient(Calculator, createThriftConnection(mesh, 'calc.bench.svc', 9090, { transport: 'framed' }));
  const pooled = thrift.createClient(Calculator, createThriftConnection(mesh, 'calc-pool.bench.svc', 9090, { transport: 'framed' }));
  await closedLoop(() => raw.add(1, 2), concurrency, 5000);
  await closedLoop(() => meshed.add(1, 2), concurrency, 5000);
  await closedLoop(() => pooled.add(1, 2), concurrency, 5000);
  const results: { raw: LoadResult[]; mesh: LoadResult[]; pool: LoadResult[] } = { raw: [], mesh: [], pool: [] };
  for (let r = 0; r < rounds; r++) {
    results.raw.push(await closedLoop(() => raw.add(1, 2), concurrency, calls));
    results.mesh.push(await closedLoop(() => meshed.add(1, 2), concurrency, calls));
    results.pool.push(await closedLoop(() => pooled.add(1, 2), concurrency, calls));
  }
  rawConn.end();
  await mesh.close();
  child.kill();
  pki.remove();
  const rawS = summarize(results.raw);
  const meshS = summarize(results.mesh);
  const poolS = summarize(results.pool);
  console.log(
    JSON.stringify(
      {
        concurrency,
        callsPerRound: calls,
        rounds,
        rawThriftOverMtls: rawS,
        metaMeshIstioMutualMultiplexed: meshS,
        metaMeshIstioMutualPerCallConnections: poolS,
        throughputRatio: Number((meshS.callsPerSecond / rawS.callsPerSecond).toFixed(3)),
        clientCpuRatio: Number((meshS.cpuUsPerCall / rawS.cpuUsPerCall).toFixed(3)),
        perCallConnectionsThroughputRatio: Number((poolS.callsPerSecond / rawS.callsPerSecond).toFixed(3)),
        perCallConnectionsClientCpuRatio: Number((poolS.cpuUsPerCall / rawS.cpuUsPerCall).toFixed(3)),
      },
      null,
      2,
    ),
  );
}

void main();
