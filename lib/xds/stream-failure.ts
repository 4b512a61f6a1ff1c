// Why an xDS stream failed, in one line a user can act on. grpc-js reports a
// failed TLS handshake as "UNAVAILABLE: No connection established" with
// OpenSSL's words buried inside (or none at all); this keeps the reason,
// drops the noise, and for TLS failures names the setting to change.
import * as grpc from '@grpc/grpc-js';
import type { XdsSecurity } from './xds-options';

interface Knobs {
  readonly clientCert: string;
  readonly ca: string;
  readonly noTls: string;
  readonly tls: string;
}

const KNOBS: Record<XdsSecurity['source'], Knobs> = {
  'xds.tls': {
    clientCert: 'set xds.tls.cert and xds.tls.key',
    ca: "set xds.tls.ca to the CA that signed the control plane's certificate (Istio: root-cert.pem)",
    noTls: 'remove xds.tls',
    tls: 'set xds.tls (with ca)',
  },
  bootstrap: {
    clientCert: "add certificate_file and private_key_file to the bootstrap's tls channel_creds config",
    ca: "set ca_certificate_file in the bootstrap's tls channel_creds config to the CA that signed the control plane's certificate",
    noTls: 'use channel_creds type insecure in the bootstrap',
    tls: 'use channel_creds type tls in the bootstrap',
  },
  default: {
    clientCert: 'set xds.tls.cert and xds.tls.key',
    ca: 'set xds.tls.ca',
    noTls: 'remove xds.tls',
    tls: 'set xds.tls (with ca)',
  },
};

/** `UNAVAILABLE: <reason>[; <what to change>]` for a stream that ended with `err`. */
export function describeStreamFailure(err: { code?: number; details?: string; message?: string }, security: XdsSecurity): string {
  const status = err.code === undefined ? 'ERROR' : (grpc.status[err.code] ?? String(err.code));
  const reason = clean(err.details || err.message || 'no reason given');
  const hint = tlsHint(reason, security);
  return `${status}: ${reason}${hint === undefined ? '' : `; ${hint}`}`;
}

function clean(details: string): string {
  return (
    details
      // OpenSSL's "<hex>:error:<hex>:SSL routines:<function>:<reason>:<file>.c:<line>:" → "<reason>"
      .replace(/(?:Error: )?[0-9A-F]{8,}:error:[0-9A-F]{8}:[^:]*:[^:]*:([^:\n]+)(?::\S*\.c:\d+:(?:SSL alert number \d+)?)?/g, '$1')
      .replace(/Last error: Error(?: \[\w+\])?: /, 'Last error: ')
      .replace(/\s*\(\d{4}-\d\d-\d\dT[\d:.]+Z\)/g, '')
      .replace(/\.?\s*Resolution note:\s*$/, '')
      .replace(/\s+/g, ' ')
      .trim()
  );
}

function tlsHint(reason: string, security: XdsSecurity): string | undefined {
  const knobs = KNOBS[security.source];
  if (security.mode === 'plaintext') {
    // TCP connected but no HTTP/2 came back: most often a TLS port (istiod's 15012) spoken to in plaintext.
    return /Failed to connect$/.test(reason) ? `the server took the connection but answered no plaintext gRPC; if it serves TLS, ${knobs.tls}` : undefined;
  }
  if (/certificate required/i.test(reason) || (security.mode === 'tls' && /alert handshake failure/i.test(reason))) {
    return `the control plane requires a client certificate (mutual TLS): ${knobs.clientCert}`;
  }
  if (/self[- ]signed certificate|unable to get (local )?issuer certificate|unable to verify the first certificate|certificate verify failed/i.test(reason)) {
    return `the control plane's certificate is not signed by a trusted CA: ${knobs.ca}`;
  }
  if (/ERR_TLS_CERT_ALTNAME_INVALID|does not match certificate's altnames/.test(reason)) {
    return "the control plane's certificate does not name the host connected to: connect by a name or IP in its subjectAltName, or reissue it";
  }
  if (/certificate has expired|certificate is not yet valid/i.test(reason)) {
    return "the control plane's certificate is outside its validity period: renew it (or check the clock)";
  }
  if (/alert (unknown ca|bad certificate|certificate unknown|certificate expired|certificate revoked|decrypt error|access denied)/i.test(reason)) {
    return 'the control plane refused the client certificate: it must be valid, match its key and be signed by a CA the control plane trusts';
  }
  if (/wrong version number|packet length too long|unknown protocol|http request/i.test(reason)) {
    return `the server does not speak TLS on this port (Aeraki 1.4.x serves plaintext): ${knobs.noTls}`;
  }
  if (/Failed to connect$/.test(reason)) {
    return security.mode === 'mtls'
      ? 'the TLS handshake failed after connecting: the control plane may refuse the client certificate (it must be signed by a CA it trusts) or may not serve TLS on this port'
      : `the TLS handshake failed after connecting: the control plane may require a client certificate (${knobs.clientCert}) or may not serve TLS on this port`;
  }
  return undefined;
}
