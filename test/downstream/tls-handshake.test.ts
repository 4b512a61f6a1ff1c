// The inbound TLS handshake of acceptDownstreamSocket, with real sockets and
// openssl SPIFFE certificates: many handshakes at once each hand on their own
// secured socket (the TLS socket is matched to the accepted one by the
// connection's address 4-tuple, public API only), and a client the server
// cannot trust is refused as soon as the handshake ends, not at the handshake
// deadline (set far beyond the test's timeout here, so waiting for it fails).
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { acceptDownstreamSocket, type DownstreamCredentials, type DownstreamSocket, type DownstreamTlsPolicy } from '../../lib/downstream/accept-downstream-socket';
import { createSpiffePki, type SpiffePki, type WorkloadFiles } from '../support/spiffe-pki';

describe('inbound TLS handshake (public API only)', function () {
  this.timeout(30_000);
  let pki: SpiffePki;
  let server: net.Server;
  let port: number;
  const ready: DownstreamSocket[] = [];
  const refusals: string[] = [];
  let onRefused: (() => void) | undefined;
  let meshCa: Buffer;

  const read = (w: WorkloadFiles) => ({ cert: fs.readFileSync(w.certificateFile), key: fs.readFileSync(w.privateKeyFile), ca: fs.readFileSync(w.caCertificateFile) });

  before(async () => {
    pki = createSpiffePki();
    const credentials: DownstreamCredentials = read(pki.workload('server', 'shop', 'calc'));
    meshCa = credentials.ca;
    const policy: DownstreamTlsPolicy = {
      modeFor: () => 'STRICT',
      credentials: () => credentials,
      refused: (reason) => {
        refusals.push(reason);
        onRefused?.();
      },
    };
    server = net.createServer((raw) => {
      raw.on('error', () => undefined);
      acceptDownstreamSocket(raw, { tls: policy, handshakeTimeoutMs: 120_000 }, (conn) => {
        ready.push(conn);
        // Echo the peer's SPIFFE id back, so each client sees which certificate its own connection verified.
        const secure = conn.socket as tls.TLSSocket;
        secure.end(String(secure.getPeerX509Certificate()?.subjectAltName ?? 'none'));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as net.AddressInfo).port;
  });
  after(() => {
    server.close();
    pki.remove();
  });

  function connect(w: WorkloadFiles | undefined): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port, ca: meshCa, checkServerIdentity: () => undefined, ...(w === undefined ? {} : { cert: read(w).cert, key: read(w).key }) });
      let got = '';
      socket.on('data', (d: Buffer) => (got += d.toString()));
      socket.on('end', () => resolve(got));
      socket.on('error', reject);
      socket.on('close', () => resolve(got));
    });
  }

  it('hands each of 12 concurrent handshakes its own verified socket', async () => {
    ready.length = 0;
    const clients = Array.from({ length: 12 }, (_, i) => pki.workload(`c${i}`, `ns${i}`, `sa${i}`));
    const answers = await Promise.all(clients.map((c) => connect(c)));
    answers.forEach((a, i) => assert.equal(a, `URI:spiffe://cluster.local/ns/ns${i}/sa/sa${i}`));
    assert.equal(ready.length, 12);
    for (const conn of ready) assert.equal((conn.socket as tls.TLSSocket).authorized, true);
  });

  it('refuses a client certificate from another CA, and a client without one, when the handshake ends', async () => {
    ready.length = 0;
    for (const client of [pki.workload('stranger', 'front', 'web', 'other'), undefined]) {
      refusals.length = 0;
      const refused = new Promise<void>((resolve) => (onRefused = resolve));
      await connect(client).catch(() => '');
      await refused;
      assert.equal(refusals.length, 1, 'counted once');
      assert.match(refusals[0]!, /TLS handshake failed/);
    }
    assert.equal(ready.length, 0, 'nothing reached the codec');
  });
});
