// Mutual TLS cost end to end (issue 18 target: meta-mesh ≥ 0.90× the
// throughput of a raw thrift client over the same TLS): a raw thrift client
// (thrift.createSSLConnection with the workload certificate) and a meta-mesh
// client (DestinationRule ISTIO_MUTUAL with the same identity) call the same
// thrift server, which requires client certificates, in its own process.
// The meta-mesh client runs twice: multiplexed over one connection, the raw
// client's own connection model (DestinationRule connectionPool.multiplexing),
// and with Thrift's default, one call in flight per connection (a pool of up
// to 64 TLS connections at concurrency 64). Each is compared with the raw
// client doing the same: one TLS connection, and a pool of 64 TLS connections
// each carrying one call at a time. The server reports its CPU per call and
// its TLS handshakes (and how many resumed a session) for every scenario.
// Rounds are interleaved (A B A B ...) so machine noise hits both alike;
// client CPU per call is measured the same way for both. Under `models`, each
// meta-mesh model has its throughput ratio to the raw client on ONE TLS
// connection and to the raw client in the SAME model (the single connection
// for multiplexed, the raw pool for per-call connections), with client and
// server CPU per call of all three.
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
import { closedLoop, median, summarize, type LoadResult } from './support/load';
import { serverStats } from './support/server-stats';
import { compareModel } from './support/model-report';
import { runBench } from './support/run-bench';

const quick = process.env.BENCH_QUICK === '1';

async function main(): Promise<void> {
  const loadAtStart = Number(os.loadavg()[0]!.toFixed(2));
  const concurrency = 64;
  const calls = quick ? 5_000 : 40_000;
  // Quick runs take more, shorter rounds: on a shared machine the median of interleaved rounds is what holds still.
  const rounds = quick ? 4 : 3;
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
  const tlsOptions = {
    transport: thrift.TFramedTransport,
    protocol: thrift.TBinaryProtocol,
    cert: fs.readFileSync(client.certificateFile),
    key: fs.readFileSync(client.privateKeyFile),
    ca: fs.readFileSync(client.caCertificateFile),
    // The raw client checks the CA only, as ISTIO_MUTUAL does plus its SAN check.
    checkServerIdentity: () => undefined,
  } as unknown as thrift.ConnectOptions;
  const rawConn = thrift.createSSLConnection('127.0.0.1', port, tlsOptions);
  const raw = thrift.createClient(Calculator, rawConn);
  // The raw client's non-multiplexed model: 64 TLS connections, one call in flight on each.
  const poolConns = Array.from({ length: concurrency }, () => thrift.createSSLConnection('127.0.0.1', port, tlsOptions));
  // The server is killed at the end: its resets are expected.
  for (const c of [rawConn, ...poolConns]) c.on('error', () => undefined);
  const free = poolConns.map((c) => thrift.createClient(Calculator, c));
  const rawPool = {
    add: async (a: number, b: number): Promise<number> => {
      const c = free.pop()!;
      try {
        return await c.add(a, b);
      } finally {
        free.push(c);
      }
    },
  };
  const meshed = thrift.createClient(Calculator, createThriftConnection(mesh, 'calc.bench.svc', 9090, { transport: 'framed' }));
  const pooled = thrift.createClient(Calculator, createThriftConnection(mesh, 'calc-pool.bench.svc', 9090, { transport: 'framed' }));
  const scenarios = { raw, rawPool, mesh: meshed, pool: pooled };
  type Name = keyof typeof scenarios;
  const handshakesBefore = await serverStats(child);
  const handshakes: Record<string, { handshakes: number; resumed: number }> = {};
  for (const [name, c] of Object.entries(scenarios)) {
    const before = await serverStats(child);
    await closedLoop(() => c.add(1, 2), concurrency, 5000);
    const after = await serverStats(child);
    handshakes[name] = { handshakes: after.handshakes - before.handshakes, resumed: after.resumed - before.resumed };
  }
  const results: Record<Name, LoadResult[]> = { raw: [], rawPool: [], mesh: [], pool: [] };
  const serverCpu: Record<Name, number[]> = { raw: [], rawPool: [], mesh: [], pool: [] };
  const steadyBefore = await serverStats(child);
  for (let r = 0; r < rounds; r++) {
    for (const name of Object.keys(scenarios) as Name[]) {
      const before = await serverStats(child);
      const result = await closedLoop(() => scenarios[name].add(1, 2), concurrency, calls);
      results[name].push(result);
      serverCpu[name].push(((await serverStats(child)).cpuUs - before.cpuUs) / result.calls);
    }
  }
  const steadyAfter = await serverStats(child);
  rawConn.end();
  for (const c of poolConns) c.end();
  await mesh.close();
  child.kill();
  pki.remove();
  const s = (name: Name) => ({ ...summarize(results[name]), serverCpuUsPerCall: Number(median(serverCpu[name]).toFixed(1)) });
  const rawS = s('raw');
  const rawPoolS = s('rawPool');
  const meshS = s('mesh');
  const poolS = s('pool');
  console.log(
    JSON.stringify(
      {
        loadAverage1m: { atStart: loadAtStart, atEnd: Number(os.loadavg()[0]!.toFixed(2)) },
        concurrency,
        callsPerRound: calls,
        rounds,
        rawThriftOverMtls: rawS,
        rawThriftPoolOverMtls: rawPoolS,
        metaMeshIstioMutualMultiplexed: meshS,
        metaMeshIstioMutualPerCallConnections: poolS,
        // Each meta-mesh model against the raw client on one TLS connection and against the raw client in the same model.
        models: {
          multiplexed: compareModel('multiplexed', meshS, rawS, rawS, 'raw single TLS connection'),
          nonMultiplexed: compareModel('non-multiplexed (per-call connections)', poolS, rawS, rawPoolS, `raw pool of ${concurrency} TLS connections`),
        },
        rawPoolToRawSingleConnection: Number((rawPoolS.callsPerSecond / rawS.callsPerSecond).toFixed(3)),
        // TLS handshakes the server saw while each client warmed up (and how many resumed a session), and during all measured rounds.
        handshakesDuringWarmup: handshakes,
        handshakesDuringRounds: { handshakes: steadyAfter.handshakes - steadyBefore.handshakes, resumed: steadyAfter.resumed - steadyBefore.resumed },
        handshakesTotal: steadyAfter.handshakes - handshakesBefore.handshakes,
      },
      null,
      2,
    ),
  );
}

runBench(module, main);
