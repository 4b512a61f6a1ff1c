// Mutual TLS cost end to end (issue 18 target: meta-mesh ≥ 0.90× the
// throughput of a raw thrift client over the same TLS): a raw thrift client
// (thrift.createSSLConnection with the workload certificate) and a meta-mesh
// client (DestinationRule ISTIO_MUTUAL with the same identity) call the same
// thrift server, which requires client certificates, in its own process.
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
  fs.writeFileSync(
    path.join(dir, 'mesh.yaml'),
    `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: calc, namespace: shop}
spec:
  hosts: [calc.bench.svc]
  ports: [{number: 9090, name: tcp-metaprotocol-thrift}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1, ports: {tcp-metaprotocol-thrift: ${port}}, serviceAccount: calc}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: calc, namespace: shop}
spec:
  host: calc.bench.svc
  trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}
`,
  );
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
  pki.remove();
  const rawS = summarize(results.raw);
  const meshS = summarize(results.mesh);
  console.log(
    JSON.stringify(
      {
        concurrency,
        callsPerRound: calls,
        rounds,
        rawThriftOverMtls: rawS,
        metaMeshIstioMutual: meshS,
        throughputRatio: Number((meshS.callsPerSecond / rawS.callsPerSecond).toFixed(3)),
        clientCpuRatio: Number((meshS.cpuUsPerCall / rawS.cpuUsPerCall).toFixed(3)),
      },
      null,
      2,
    ),
  );
}

void main();
