// DestinationRule tls SIMPLE / MUTUAL with certificate files: the files are
// read and parsed once into a SecureContext, and again only when one of them
// changes (a rotation), not at every connect.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import type { ClusterTls } from '../../lib/config/security-model';
import { UpstreamTlsResolver } from '../../lib/security/upstream-tls';
import { createSpiffePki, type SpiffePki } from '../support/spiffe-pki';

describe('file-based upstream TLS settings', () => {
  let pki: SpiffePki;
  before(() => {
    pki = createSpiffePki();
  });
  after(() => pki.remove());

  it('builds the SecureContext once and again only after a certificate file changes', async () => {
    const a = pki.workload('client', 'front', 'web');
    const b = pki.workload('other', 'front', 'api');
    const settings = { mode: 'MUTUAL', caCertificates: a.caCertificateFile, clientCertificate: a.certificateFile, privateKey: a.privateKeyFile } as ClusterTls;
    const connector = new UpstreamTlsResolver(() => undefined).resolve(settings, 'calc.shop.svc');
    const endpoint = { address: '127.0.0.1', port: 9 };
    const first = connector.connectOptions(endpoint).secureContext;
    assert.ok(first !== undefined);
    assert.equal(connector.connectOptions(endpoint).secureContext, first, 'read again although no file changed');
    // A rotation: new certificate and key written in place.
    await new Promise((r) => setTimeout(r, 20));
    fs.writeFileSync(a.certificateFile, fs.readFileSync(b.certificateFile));
    fs.writeFileSync(a.privateKeyFile, fs.readFileSync(b.privateKeyFile));
    const rotated = connector.connectOptions(endpoint).secureContext;
    assert.notEqual(rotated, first, 'the rotated files were not picked up');
    assert.equal(connector.connectOptions(endpoint).secureContext, rotated);
  });

  it('says which file cannot be read, at connect', () => {
    const settings = { mode: 'SIMPLE', caCertificates: '/nonexistent/ca.pem' } as ClusterTls;
    const connector = new UpstreamTlsResolver(() => undefined).resolve(settings, 'calc.shop.svc');
    assert.throws(() => connector.connectOptions({ address: '127.0.0.1', port: 9 }), /tls\.caCertificates \/nonexistent\/ca\.pem of the DestinationRule for calc\.shop\.svc cannot be read \(ENOENT\)/);
  });
});
