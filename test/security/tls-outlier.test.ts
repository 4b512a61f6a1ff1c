// A TLS failure is a CONNECT_FAILURE that counts toward outlier detection:
// an ISTIO_MUTUAL client balancing over a good meta-mesh server and a real TLS
// server it must not trust (a certificate from another CA, or a SPIFFE id
// other than the service account expected) ejects the bad host after
// `consecutiveGatewayErrors` failed handshakes, and then no call fails or
// connects there. Without outlierDetection the same client keeps failing
// calls on it, which is what makes the test able to fail.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { Mesh } from 'meta-mesh';
import { newServerLog, startCalculatorServer } from '../../examples/thrift-canary/servers';
import { calculatorClient } from '../adapters/thrift/support';
import { calcClientYaml, identity, writeYaml } from '../support/mtls-workloads';
import { createSpiffePki, type SpiffePki, type WorkloadFiles } from '../support/spiffe-pki';

const STRICT = `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: shop}
spec:
  mtls: {mode: STRICT}
`;

function clientYaml(goodPort: number, badPort: number, outlierDetection: boolean): string {
  const od = '    outlierDetection: {consecutiveGatewayErrors: 2, consecutive5xxErrors: 0, interval: 60s, baseEjectionTime: 300s, maxEjectionPercent: 100}\n';
  return calcClientYaml([goodPort, badPort], '{mode: ISTIO_MUTUAL}', 'calc', `    loadBalancer: {simple: ROUND_ROBIN}\n${outlierDetection ? od : ''}`);
}

/** A real TLS server with `files`' certificate, counting the connections made to it (each handshake attempt). */
async function untrustedServer(files: WorkloadFiles): Promise<{ port: number; connections: () => number; close: () => void }> {
  let connections = 0;
  const server = tls.createServer({ cert: fs.readFileSync(files.certificateFile), key: fs.readFileSync(files.privateKeyFile) });
  server.on('connection', () => connections++);
  server.on('tlsClientError', () => undefined);
  server.on('secureConnection', (s) => s.on('error', () => undefined));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as net.AddressInfo).port, connections: () => connections, close: () => server.close() };
}

describe('a TLS failure counts toward outlier detection', function () {
  this.timeout(60_000);
  let pki: SpiffePki;
  const open: Mesh[] = [];
  const closers: (() => void)[] = [];

  before(() => (pki = createSpiffePki()));
  afterEach(async () => {
    closers.splice(0).forEach((c) => c());
    await Promise.all(open.splice(0).map((m) => m.close()));
  });
  after(() => pki.remove());

  async function scenario(bad: WorkloadFiles, outlierDetection: boolean) {
    const serverMesh = await Mesh.start({ config: writeYaml(STRICT), identity: identity(pki.workload('server', 'shop', 'calc')), logger: () => undefined });
    open.push(serverMesh);
    const log = newServerLog();
    const good = await startCalculatorServer(serverMesh, 'v1', 0, log);
    const untrusted = await untrustedServer(bad);
    closers.push(untrusted.close);
    const errors: string[] = [];
    const mesh = await Mesh.start({
      config: writeYaml(clientYaml(good.port, untrusted.port, outlierDetection)),
      identity: identity(pki.workload('client', 'front', 'web')),
      preconnect: false,
      logger: () => undefined,
      defaultTimeoutMs: 5000,
    });
    open.push(mesh);
    const { client } = calculatorClient(mesh, { upstreamTransport: 'header' });
    const call = async () => {
      try {
        assert.equal(await client.add(1, 2), 3);
      } catch (err) {
        errors.push((err as Error).message);
      }
    };
    for (let i = 0; i < 10; i++) await call();
    const before = untrusted.connections();
    const failedBefore = errors.length;
    for (let i = 0; i < 20; i++) await call();
    return { before, after: untrusted.connections(), failedBefore, errors };
  }

  for (const [what, bad, why] of [
    ['a certificate from another CA', () => pki.workload('rogue', 'shop', 'calc', 'other'), /not signed by the mesh CA/],
    ['a SAN mismatch (another service account)', () => pki.workload('impostor', 'shop', 'billing'), /SAN mismatch/],
  ] as const) {
    it(`${what}: CONNECT_FAILURE, the host is ejected and not tried again`, async () => {
      const r = await scenario(bad(), true);
      // Round robin sends every other call to the untrusted host: its 2nd failure (consecutiveGatewayErrors) ejects it.
      assert.equal(r.failedBefore, 2, r.errors.join(' | '));
      assert.ok(r.errors.every((e) => /CONNECT_FAILURE/.test(e) && why.test(e)), r.errors.join(' | '));
      assert.equal(r.errors.length, 2, 'no failure in the next 20 calls');
      assert.ok(r.before >= 1);
      assert.equal(r.after, r.before, 'no connection to the ejected host in the next 20 calls');
    });
  }

  it('without outlierDetection the untrusted host keeps being tried (the control)', async () => {
    const r = await scenario(pki.workload('rogue2', 'shop', 'calc', 'other'), false);
    assert.ok(r.failedBefore > 2, `${r.failedBefore} failures in the first 10 calls`);
    assert.ok(r.errors.length > r.failedBefore, 'calls keep failing on the untrusted host');
  });
});
