// Upstream TLS sessions are resumed, as Envoy's upstream TLS does: a pooled
// connection opened to an endpoint already reached skips the certificate
// exchange. Never across TLS settings (connectors) or after the workload's
// identity changed (a rotated certificate is a new SecureContext: new
// connections must present it), and never to another endpoint.
import { strict as assert } from 'node:assert';
import { once } from 'node:events';
import * as fs from 'node:fs';
import type * as net from 'node:net';
import * as tls from 'node:tls';
import { openUpstreamSocket } from '../../lib/upstream/open-upstream-socket';
import type { UpstreamTlsConnector } from '../../lib/upstream/upstream-transport';
import { createSpiffePki, type SpiffePki, type WorkloadFiles } from '../support/spiffe-pki';

describe('upstream TLS session resumption', function () {
  this.timeout(30_000);
  let pki: SpiffePki;
  let client: WorkloadFiles;
  let server: tls.Server;
  let port: number;
  const reused: boolean[] = [];

  before(async () => {
    pki = createSpiffePki();
    const s = pki.workload('server', 'shop', 'calc');
    client = pki.workload('client', 'front', 'web');
    server = tls.createServer({
      cert: fs.readFileSync(s.certificateFile),
      key: fs.readFileSync(s.privateKeyFile),
      ca: fs.readFileSync(s.caCertificateFile),
      requestCert: true,
      rejectUnauthorized: true,
    });
    server.on('secureConnection', (socket) => {
      reused.push(socket.isSessionReused());
      socket.on('error', () => undefined);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as net.AddressInfo).port;
  });
  after(() => {
    server.close();
    pki.remove();
  });

  const context = () => tls.createSecureContext({ cert: fs.readFileSync(client.certificateFile), key: fs.readFileSync(client.privateKeyFile), ca: fs.readFileSync(client.caCertificateFile) });
  const connector = (ctx: () => tls.SecureContext): UpstreamTlsConnector => ({
    key: 'test',
    connectOptions: () => ({ secureContext: ctx(), rejectUnauthorized: true, checkServerIdentity: () => undefined }),
    explain: (err) => err.message,
  });
  const transport = (secure: UpstreamTlsConnector) => ({ connectTimeoutMs: 5000, tls: { mode: 'ISTIO_MUTUAL' } as never, secure });

  /** Connects, waits for the handshake and the session ticket, closes; resolves with whether the server resumed it. */
  async function connectOnce(secure: UpstreamTlsConnector): Promise<boolean> {
    const before = reused.length;
    let ready!: () => void;
    const connected = new Promise<void>((resolve) => (ready = resolve));
    const socket = openUpstreamSocket({ address: '127.0.0.1', port }, transport(secure), () => ready()) as tls.TLSSocket;
    // Read, as a connection does: the session ticket arrives after the handshake.
    socket.resume();
    const ticket = once(socket, 'session');
    await connected;
    while (reused.length === before) await new Promise((r) => setImmediate(r));
    const resumed = reused[reused.length - 1]!;
    // A full handshake ends with a session ticket for the next connection.
    if (!resumed) await ticket;
    socket.destroy();
    return resumed;
  }

  it('resumes the session on the next connection to the same endpoint with the same settings and identity', async () => {
    const ctx = context();
    const secure = connector(() => ctx);
    assert.equal(await connectOnce(secure), false, 'the first connection does a full handshake');
    assert.equal(await connectOnce(secure), true, 'the second one resumes');
    assert.equal(await connectOnce(secure), true);
  });

  it('does not resume after the identity changed (a new SecureContext), nor under other TLS settings', async () => {
    let ctx = context();
    const secure = connector(() => ctx);
    assert.equal(await connectOnce(secure), false);
    ctx = context(); // what a certificate rotation does
    assert.equal(await connectOnce(secure), false, 'a rotated identity must be presented, not a resumed session');
    assert.equal(await connectOnce(secure), true);
    const other = connector(() => ctx);
    assert.equal(await connectOnce(other), false, 'sessions are not shared across TLS settings');
  });
});
