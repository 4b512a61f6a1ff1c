// Interop with an independent Thrift implementation (Debian python3-thrift):
// its TSSLSocket client, which has no client certificate, is refused by a
// STRICT meta-mesh server; its plaintext client is served under PERMISSIVE.
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Mesh } from 'meta-mesh';
import { newServerLog, startCalculatorServer } from '../../examples/thrift-canary/servers';
import { createSpiffePki, type SpiffePki } from '../support/spiffe-pki';

const root = path.resolve(__dirname, '../../..');

function python(...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('/usr/bin/python3', [path.join(root, 'test/support/python/tls_client.py'), ...args], { env: { ...process.env, PYTHONPATH: path.join(root, 'gen/calculator/py') }, timeout: 20_000 }, (err, stdout, stderr) =>
      err === null ? resolve(stdout.trim()) : reject(new Error(`${err.message}\n${stderr}`)),
    );
  });
}

describe('PeerAuthentication against a Python thrift client', function () {
  this.timeout(60_000);
  let pki: SpiffePki;
  const meshes: Mesh[] = [];

  before(() => {
    pki = createSpiffePki();
  });
  afterEach(async () => {
    await Promise.all(meshes.splice(0).map((m) => m.close()));
  });
  after(() => pki.remove());

  async function server(mode: string) {
    const files = pki.workload(`server-${mode}`, 'shop', 'calc');
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'meta-mesh-pytls-')), 'pa.yaml');
    fs.writeFileSync(file, `apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: default, namespace: shop}\nspec:\n  mtls: {mode: ${mode}}\n`);
    const mesh = await Mesh.start({ config: file, identity: files, logger: () => undefined });
    meshes.push(mesh);
    const log = newServerLog();
    const s = await startCalculatorServer(mesh, 'v1', 0, log);
    return { mesh, log, port: s.port, ca: files.caCertificateFile };
  }

  it('STRICT refuses TSSLSocket without a client certificate, and plaintext; the handler never runs', async () => {
    const s = await server('STRICT');
    assert.match(await python('tls', String(s.port), s.ca), /^ERROR /);
    assert.match(await python('plain', String(s.port)), /^ERROR /);
    assert.equal(s.log.calls.add, undefined);
    assert.equal((s.mesh.dump().peerAuthentication as { refused: number }).refused, 2);
  });

  it('PERMISSIVE serves the plaintext client, and still refuses TLS without a client certificate', async () => {
    const s = await server('PERMISSIVE');
    assert.equal(await python('plain', String(s.port)), 'OK 5');
    assert.match(await python('tls', String(s.port), s.ca), /^ERROR /);
    assert.equal(s.log.calls.add, 1);
  });
});
