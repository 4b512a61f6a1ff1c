// Mutual TLS between meta-mesh workloads, with Istio-style SPIFFE certificates
// made by openssl: DestinationRule ISTIO_MUTUAL / MUTUAL / SIMPLE outbound,
// PeerAuthentication STRICT / PERMISSIVE inbound, the caller's verified
// identity in the call's metadata, SAN checks, and certificate rotation.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as tls from 'node:tls';
import { Mesh, MeshError } from 'meta-mesh';
import { newServerLog, startCalculatorServer } from '../../examples/thrift-canary/servers';
import { calculatorClient } from '../adapters/thrift/support';
import { calcClientYaml as clientYaml, identity, writeYaml as write } from '../support/mtls-workloads';
import { createSpiffePki, type SpiffePki, type WorkloadFiles } from '../support/spiffe-pki';

function peerAuthentication(mode: string): string {
  return `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: shop}
spec:
  mtls: {mode: ${mode}}
`;
}

describe('mutual TLS between meta-mesh workloads', function () {
  this.timeout(60_000);
  let pki: SpiffePki;
  let serverFiles: WorkloadFiles;
  let clientFiles: WorkloadFiles;
  const open: Mesh[] = [];

  before(() => {
    pki = createSpiffePki();
    serverFiles = pki.workload('server', 'shop', 'calc');
    clientFiles = pki.workload('client', 'front', 'web');
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((m) => m.close()));
  });
  after(() => pki.remove());

  async function server(policies: string, files: WorkloadFiles | null = serverFiles) {
    const mesh = await Mesh.start({ config: write(policies), logger: () => undefined, ...(files === null ? {} : { identity: identity(files) }) });
    open.push(mesh);
    const log = newServerLog();
    const s = await startCalculatorServer(mesh, 'v1', 0, log);
    return { mesh, log, port: s.port };
  }

  async function client(yaml: string, files: WorkloadFiles | null = clientFiles) {
    const mesh = await Mesh.start({ config: write(yaml), logger: () => undefined, defaultTimeoutMs: 5000, ...(files === null ? {} : { identity: identity(files) }) });
    open.push(mesh);
    return { mesh, ...calculatorClient(mesh, { upstreamTransport: 'header' }) };
  }

  it('ISTIO_MUTUAL client → STRICT server: the call goes through and the server sees the verified principal', async () => {
    const s = await server(
      peerAuthentication('STRICT') +
        `---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: front-only, namespace: shop}
spec:
  rules:
  - from:
    - source:
        namespaces: [front]
        principals: [cluster.local/ns/front/sa/web]
`,
    );
    assert.equal(s.mesh.identity, 'spiffe://cluster.local/ns/shop/sa/calc');
    const c = await client(clientYaml(s.port, '{mode: ISTIO_MUTUAL}'));
    assert.equal(c.mesh.identity, 'spiffe://cluster.local/ns/front/sa/web');
    assert.equal(await c.client.add(2, 3), 5);
    assert.equal(await c.client.header('source.principal'), 'cluster.local/ns/front/sa/web');
    assert.equal(await c.client.header('source.namespace'), 'front');
    assert.deepEqual(s.mesh.dump().authorization, { allowed: 3, denied: 0, audited: 0 });
  });

  it('a plaintext client is refused by STRICT (and counted); the same server under PERMISSIVE takes it', async () => {
    const strict = await server(peerAuthentication('STRICT'));
    const plain = await client(clientYaml(strict.port, undefined), null);
    await assert.rejects(plain.client.add(1, 1), (err: Error) => /CONNECT_FAILURE|UPSTREAM_RESET/.test(err.message));
    assert.equal(strict.log.calls.add, undefined);
    assert.ok((strict.mesh.dump().peerAuthentication as { refused: number }).refused >= 1);

    const permissive = await server(peerAuthentication('PERMISSIVE'));
    const plain2 = await client(clientYaml(permissive.port, undefined), null);
    assert.equal(await plain2.client.add(1, 1), 2);
    assert.equal(await plain2.client.header('source.principal'), '', 'a plaintext caller has no principal');
    const mtls = await client(clientYaml(permissive.port, '{mode: ISTIO_MUTUAL}'));
    assert.equal(await mtls.client.header('source.principal'), 'cluster.local/ns/front/sa/web', 'PERMISSIVE takes mTLS on the same port');
  });

  it('refuses a server whose SPIFFE id is not the one expected, naming the setting (CONNECT_FAILURE)', async () => {
    const s = await server(peerAuthentication('STRICT'));
    const c = await client(clientYaml(s.port, '{mode: ISTIO_MUTUAL}', 'billing'));
    await assert.rejects(c.client.add(1, 1), (err: Error) => /CONNECT_FAILURE/.test(err.message) && /SAN mismatch.*spiffe:\/\/cluster\.local\/ns\/shop\/sa\/calc.*expected one of spiffe:\/\/cluster\.local\/ns\/shop\/sa\/billing/.test(err.message));
    assert.equal(s.log.calls.add, undefined);
  });

  it('refuses a client certificate from another CA, and a server from another CA, with the setting to change', async () => {
    const s = await server(peerAuthentication('STRICT'));
    const stranger = pki.workload('stranger', 'front', 'web', 'other');
    const c = await client(clientYaml(s.port, '{mode: ISTIO_MUTUAL}'), stranger);
    await assert.rejects(c.client.add(1, 1), /CONNECT_FAILURE|UPSTREAM_RESET/);
    assert.equal(s.log.calls.add, undefined);
    const rogue = await server(peerAuthentication('STRICT'), pki.workload('rogue', 'shop', 'calc', 'other'));
    const c2 = await client(clientYaml(rogue.port, '{mode: ISTIO_MUTUAL}'));
    await assert.rejects(c2.client.add(1, 1), /CONNECT_FAILURE.*not signed by the mesh CA.*caCertificateFile/);
  });

  it('ISTIO_MUTUAL to a plaintext-only server fails with CONNECT_FAILURE saying the server does not speak TLS', async () => {
    const s = await server(peerAuthentication('DISABLE'));
    const c = await client(clientYaml(s.port, '{mode: ISTIO_MUTUAL}'));
    await assert.rejects(c.client.add(1, 1), /CONNECT_FAILURE/);
  });

  it('MUTUAL with file certificates and subjectAltNames; SIMPLE without a client certificate is refused by STRICT', async () => {
    const s = await server(peerAuthentication('STRICT'));
    const mutual = `{mode: MUTUAL, clientCertificate: ${clientFiles.certificateFile}, privateKey: ${clientFiles.privateKeyFile}, caCertificates: ${clientFiles.caCertificateFile}, subjectAltNames: ["spiffe://cluster.local/ns/shop/sa/calc"]}`;
    const c = await client(clientYaml(s.port, mutual), null);
    assert.equal(await c.client.add(4, 4), 8);
    assert.equal(await c.client.header('source.principal'), 'cluster.local/ns/front/sa/web');
    const simple = `{mode: SIMPLE, caCertificates: ${clientFiles.caCertificateFile}, subjectAltNames: ["spiffe://cluster.local/ns/shop/sa/calc"]}`;
    const c2 = await client(clientYaml(s.port, simple), null);
    await assert.rejects(c2.client.add(1, 1), /CONNECT_FAILURE|UPSTREAM_RESET/);
  });

  it('picks up a rotated certificate with no failed call under load: new connections present the new one', async () => {
    const rotating = pki.workload('rotating', 'shop', 'calc');
    const s = await server(peerAuthentication('STRICT'), rotating);
    const c = await client(clientYaml(s.port, '{mode: ISTIO_MUTUAL}'));
    const serialOf = () =>
      new Promise<string>((resolve, reject) => {
        const socket = tls.connect({ host: '127.0.0.1', port: s.port, cert: fs.readFileSync(clientFiles.certificateFile), key: fs.readFileSync(clientFiles.privateKeyFile), ca: fs.readFileSync(clientFiles.caCertificateFile), checkServerIdentity: () => undefined }, () => {
          resolve(socket.getPeerCertificate().serialNumber);
          socket.destroy();
        });
        socket.on('error', reject);
      });
    const before = await serialOf();
    let failures = 0;
    let calls = 0;
    let running = true;
    const load = Promise.all(
      Array.from({ length: 8 }, async () => {
        while (running) {
          try {
            await c.client.add(1, 2);
          } catch {
            failures++;
          }
          calls++;
        }
      }),
    );
    const rotated = new Promise((resolve) => s.mesh.workloadCredentials!.once('rotated', resolve));
    pki.workload('rotating', 'shop', 'calc');
    await rotated;
    const callsAtRotation = calls;
    // Keep the load on until calls have gone through after the rotation.
    while (calls < callsAtRotation + 200) await new Promise((r) => setImmediate(r));
    running = false;
    await load;
    assert.equal(failures, 0);
    const after = await serialOf();
    assert.notEqual(after, before, 'a new connection is served with the rotated certificate');
  });

  it('refuses a cluster that asks for ISTIO_MUTUAL when the mesh has no identity, rather than sending plaintext', async () => {
    const s = await server(peerAuthentication('PERMISSIVE'));
    const c = await client(clientYaml(s.port, '{mode: ISTIO_MUTUAL}'), null);
    await assert.rejects(c.client.add(1, 1), (err: Error) => /CONNECT_FAILURE.*needs this workload's identity/.test(err.message));
    assert.equal(s.log.calls.add, undefined);
    assert.ok(MeshError !== undefined);
  });
});
