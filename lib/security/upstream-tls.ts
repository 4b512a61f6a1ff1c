// UpstreamTlsResolver: a cluster's TLS settings (DestinationRule `tls`, CDS
// transport_socket) → how to open a TLS connection to one of its endpoints.
// Options are built at each connect, so a rotated workload identity applies
// to the next connection while open ones keep theirs; certificate files are
// read and parsed once, and again only when one changes. Server identity: the
// CA must have signed the certificate, then ISTIO_MUTUAL checks its SPIFFE id
// against the service accounts expected, SIMPLE / MUTUAL check
// subjectAltNames or else the host name, as Istio's sidecar does.
import * as fs from 'node:fs';
import type { PeerCertificate } from 'node:tls';
import * as tls from 'node:tls';
import { isIP } from 'node:net';
import type { ClusterTls } from '../config/security-model';
import { MeshError, MeshErrorCode } from '../protocol/mesh-error';
import { dnsSans, uriSans } from './spiffe-id';
import type { UpstreamTlsConnector as UpstreamTls } from '../upstream/upstream-transport';
import type { WorkloadIdentity } from './workload-identity';

/** Istio's sidecars offer these ALPN values on mTLS to a TCP port; a sidecar-fronted server picks its mTLS chain by them. */
const ISTIO_ALPN = ['istio-peer-exchange', 'istio'];

export class UpstreamTlsResolver {
  private readonly cache = new WeakMap<ClusterTls, Map<string, UpstreamTls>>();

  constructor(
    private readonly identity: () => WorkloadIdentity | undefined,
    /** The mesh's trust domain (Mesh option, else the workload certificate's, else cluster.local). */
    private readonly trustDomain: () => string = () => 'cluster.local',
  ) {}

  /** The TLS of `settings` for a cluster of `host` (SNI and name checks default to it). */
  resolve(settings: ClusterTls, host: string): UpstreamTls {
    let byHost = this.cache.get(settings);
    if (byHost === undefined) {
      byHost = new Map();
      this.cache.set(settings, byHost);
    }
    let resolved = byHost.get(host);
    if (resolved === undefined) {
      resolved = settings.mode === 'ISTIO_MUTUAL' ? this.istioMutual(settings, host) : fileBased(settings, host);
      byHost.set(host, resolved);
    }
    return resolved;
  }

  private istioMutual(settings: ClusterTls, host: string): UpstreamTls {
    const sans = settings.subjectAltNames ?? [];
    const accounts = settings.serviceAccounts ?? [];
    return {
      key: `ISTIO_MUTUAL|${settings.sni ?? ''}|${sans.join(',')}|${accounts.join(',')}`,
      connectOptions: () => {
        const td = this.trustDomain();
        const expected = accounts.length === 0 ? sans : [...sans, ...accounts.map((a) => spiffeUriOf(td, a))];
        const identity = this.identity();
        if (identity === undefined) {
          throw new MeshError(
            MeshErrorCode.CONNECT_FAILURE,
            `tls mode ISTIO_MUTUAL to ${host} needs this workload's identity: start the mesh with identity {certificateFile, privateKeyFile, caCertificateFile}, a gRPC bootstrap with certificate_providers, or Istio's workload certificate files`,
          );
        }
        return {
          secureContext: identity.material.context,
          ALPNProtocols: ISTIO_ALPN,
          ...(settings.sni === undefined ? {} : { servername: settings.sni }),
          rejectUnauthorized: true,
          checkServerIdentity: (_name: string, cert: PeerCertificate) => checkSans(cert, expected, host, 'ISTIO_MUTUAL'),
        };
      },
      explain: (err) => explain(err, 'ISTIO_MUTUAL', host),
    };
  }
}

/** `ns/sa` → `spiffe://<td>/ns/<ns>/sa/<sa>`, as Istio builds a service account's identity. */
function spiffeUriOf(trustDomain: string, account: string): string {
  const slash = account.indexOf('/');
  return `spiffe://${trustDomain}/ns/${account.slice(0, slash)}/sa/${account.slice(slash + 1)}`;
}

function fileBased(settings: ClusterTls, host: string): UpstreamTls {
  const sans = settings.subjectAltNames ?? [];
  const files = new TlsFiles(settings, host);
  const servername = settings.sni ?? (isIP(host) === 0 ? host : undefined);
  return {
    key: `${settings.mode}|${settings.caCertificates ?? ''}|${settings.clientCertificate ?? ''}|${settings.privateKey ?? ''}|${settings.caCrl ?? ''}|${servername ?? ''}|${sans.join(',')}|${settings.insecureSkipVerify === true}`,
    connectOptions: () => {
      const skip = settings.insecureSkipVerify === true;
      return {
        secureContext: files.context(),
        ...(servername === undefined ? {} : { servername }),
        rejectUnauthorized: !skip,
        checkServerIdentity: (name: string, cert: PeerCertificate) => {
          if (skip) return undefined;
          if (sans.length > 0) return checkSans(cert, sans, host, settings.mode);
          return tls.checkServerIdentity(servername ?? name, cert);
        },
      };
    },
    explain: (err) => explain(err, settings.mode, host),
  };
}

/** The peer certificate must carry one of `expected` as a URI or DNS SAN; none expected = any the CA signed. */
function checkSans(cert: PeerCertificate, expected: readonly string[], host: string, mode: string): Error | undefined {
  if (expected.length === 0) return undefined;
  const present = cert.subjectaltname === undefined ? [] : [...uriSans(cert.subjectaltname), ...dnsSans(cert.subjectaltname)];
  if (present.some((san) => expected.includes(san))) return undefined;
  const err = new Error(
    `SAN mismatch: ${host} presented ${present.length === 0 ? 'no subject alternative name' : present.join(', ')}, expected one of ${expected.join(', ')}; ` +
      (mode === 'ISTIO_MUTUAL'
        ? "fix the DestinationRule's tls.subjectAltNames, or the ServiceEntry's subjectAltNames / endpoints' serviceAccount"
        : "fix the DestinationRule's tls.subjectAltNames"),
  ) as Error & { code: string };
  err.code = 'ERR_MESH_SAN_MISMATCH';
  return err;
}

/** A TLS failure as the setting to change. */
function explain(err: Error & { code?: string }, mode: string, host: string): string {
  const code = err.code ?? '';
  const msg = err.message;
  if (code === 'ERR_MESH_SAN_MISMATCH') return msg;
  if (/WRONG_VERSION_NUMBER|packet length too long|unknown protocol/i.test(code + msg)) {
    return `${host} does not speak TLS (${code || msg}); set the DestinationRule's tls.mode to DISABLE for it, or enable mTLS on the server (PeerAuthentication)`;
  }
  if (/UNABLE_TO_VERIFY|SELF_SIGNED|UNABLE_TO_GET_ISSUER|CERT_UNTRUSTED|certificate verify failed/i.test(code + msg)) {
    return mode === 'ISTIO_MUTUAL'
      ? `${host}'s certificate is not signed by the mesh CA (${code}); check the identity's caCertificateFile (Istio: root-cert.pem) or the server's certificate`
      : `${host}'s certificate is not signed by a trusted CA (${code}); set the DestinationRule's tls.caCertificates to the CA that signed it`;
  }
  if (/ALTNAME|Hostname\/IP does not match/i.test(code + msg)) {
    return `${host}'s certificate does not name it (${msg}); set the DestinationRule's tls.sni or tls.subjectAltNames to a name in the certificate`;
  }
  if (/CERT_HAS_EXPIRED|CERT_NOT_YET_VALID/i.test(code)) return `${host}'s certificate is not valid now (${code}); renew the server's certificate`;
  if (/certificate required|alert handshake failure|ECONNRESET/i.test(code + msg)) {
    return mode === 'SIMPLE'
      ? `${host} refused the TLS handshake (${code || msg}); it may require a client certificate: use tls.mode MUTUAL or ISTIO_MUTUAL`
      : `${host} refused the TLS handshake (${code || msg}); it may not trust this workload's certificate (a different CA) or may not speak TLS`;
  }
  return `TLS (${mode}) to ${host} failed: ${code || msg}`;
}

/**
 * The certificate files a SIMPLE / MUTUAL DestinationRule names, as one
 * SecureContext built once and again only when a file changes (its size,
 * mtime or inode: a rotation replaces or rewrites it). A connect then costs
 * a stat per file, not a read and a parse of every certificate, and pooled
 * connections can resume TLS sessions made with the same context.
 */
class TlsFiles {
  private stamp: string | undefined;
  private built: tls.SecureContext | undefined;

  constructor(
    private readonly settings: ClusterTls,
    private readonly host: string,
  ) {}

  context(): tls.SecureContext {
    const s = this.settings;
    const named: [string | undefined, string][] = [
      [s.caCertificates, 'caCertificates'],
      ...(s.mode === 'MUTUAL' ? ([[s.clientCertificate, 'clientCertificate'], [s.privateKey, 'privateKey']] as [string | undefined, string][]) : []),
      [s.caCrl, 'caCrl'],
    ];
    const stamp = named.map(([file, field]) => (file === undefined ? '-' : this.stat(file, field))).join('|');
    if (stamp === this.stamp && this.built !== undefined) return this.built;
    const read = (file: string | undefined, field: string) => (file === undefined ? undefined : this.read(file, field));
    const ca = read(s.caCertificates, 'caCertificates');
    const crl = read(s.caCrl, 'caCrl');
    const pair = s.mode === 'MUTUAL' ? { cert: read(s.clientCertificate, 'clientCertificate'), key: read(s.privateKey, 'privateKey') } : {};
    try {
      this.built = tls.createSecureContext({ ...(ca === undefined ? {} : { ca }), ...(crl === undefined ? {} : { crl }), ...pair });
    } catch (err) {
      throw new MeshError(MeshErrorCode.CONNECT_FAILURE, `the tls files of the DestinationRule for ${this.host} cannot be used (${(err as Error).message}); check caCertificates, clientCertificate and privateKey`);
    }
    this.stamp = stamp;
    return this.built;
  }

  private stat(file: string, field: string): string {
    try {
      const st = fs.statSync(file);
      return `${st.ino}:${st.size}:${st.mtimeMs}`;
    } catch (err) {
      throw this.unreadable(file, field, err);
    }
  }

  private read(file: string, field: string): Buffer {
    try {
      return fs.readFileSync(file);
    } catch (err) {
      throw this.unreadable(file, field, err);
    }
  }

  private unreadable(file: string, field: string, err: unknown): MeshError {
    return new MeshError(
      MeshErrorCode.CONNECT_FAILURE,
      `tls.${field} ${file} of the DestinationRule for ${this.host} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); fix the path`,
    );
  }
}
