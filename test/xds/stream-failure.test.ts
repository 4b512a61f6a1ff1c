// The one-line reason for a failed xDS stream, on error details captured from
// grpc-js 1.14 and Node 20's OpenSSL (the handshakes behind most of them run
// for real in xds-tls.test.ts; these pin the wording and the rarer cases).
import { strict as assert } from 'node:assert';
import * as grpc from '@grpc/grpc-js';
import { describeStreamFailure } from '../../lib/xds/stream-failure';
import type { XdsSecurity } from '../../lib/xds/xds-options';

const UNAVAILABLE = grpc.status.UNAVAILABLE;
const tls: XdsSecurity = { mode: 'tls', source: 'xds.tls' };
const mtls: XdsSecurity = { mode: 'mtls', source: 'xds.tls' };
const plaintext: XdsSecurity = { mode: 'plaintext', source: 'default' };

const explain = (details: string, security: XdsSecurity) => describeStreamFailure({ code: UNAVAILABLE, details }, security);

describe('describeStreamFailure', () => {
  it('drops OpenSSL codes, source paths, timestamps and an empty resolution note', () => {
    const details =
      'No connection established. Last error: 805C6537367F0000:error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert certificate required:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 116\n (2026-11-22T07:20:37.327Z). Resolution note: ';
    assert.equal(
      explain(details, tls),
      'UNAVAILABLE: No connection established. Last error: tlsv13 alert certificate required; the control plane requires a client certificate (mutual TLS): set xds.tls.cert and xds.tls.key',
    );
  });

  it('names the bootstrap settings when the bootstrap chose TLS', () => {
    assert.match(
      explain('No connection established. Last error: Error: self-signed certificate in certificate chain. Resolution note: ', { mode: 'tls', source: 'bootstrap' }),
      /not signed by a trusted CA: set ca_certificate_file in the bootstrap's tls channel_creds config/,
    );
  });

  it('tells a certificate for another name, an expired one and a plaintext server apart', () => {
    assert.match(
      explain("No connection established. Last error: Error [ERR_TLS_CERT_ALTNAME_INVALID]: Hostname/IP does not match certificate's altnames: IP: 127.0.0.1 is not in the cert's list: . Resolution note: ", tls),
      /Last error: Hostname\/IP does not match .*; the control plane's certificate does not name the host connected to/,
    );
    assert.match(explain('No connection established. Last error: Error: certificate has expired. Resolution note: ', tls), /outside its validity period: renew it/);
    assert.match(
      explain('No connection established. Last error: Error: 801CCBB1C07F0000:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../deps/openssl/openssl/ssl/record/ssl3_record.c:350:\n. Resolution note: ', tls),
      /Last error: wrong version number; the server does not speak TLS on this port .*: remove xds\.tls$/,
    );
    assert.match(explain('No connection established. Last error: tlsv13 alert unknown ca', mtls), /refused the client certificate/);
  });

  it('gives a hint for a bare failed connection only where one side may be wrong about TLS', () => {
    const bare = 'No connection established. Last error: Failed to connect (2026-11-22T07:21:10.279Z). Resolution note: ';
    assert.match(explain(bare, plaintext), /answered no plaintext gRPC; if it serves TLS, set xds\.tls \(with ca\)$/);
    assert.match(explain(bare, mtls), /may refuse the client certificate/);
    assert.match(explain(bare, tls), /may require a client certificate \(set xds\.tls\.cert and xds\.tls\.key\)/);
    // A refused connection is not a TLS problem: no advice about TLS.
    assert.equal(
      explain('No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:1. Resolution note: ', tls),
      'UNAVAILABLE: No connection established. Last error: connect ECONNREFUSED 127.0.0.1:1',
    );
  });
});
