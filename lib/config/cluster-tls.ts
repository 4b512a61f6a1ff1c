// DestinationRule `tls` → a cluster's ClusterTls, with Istio's precedence:
// the rule's top level, then its portLevelSettings for the port, then the
// subset's trafficPolicy, then the subset's portLevelSettings (each `tls`
// replaces the one before it whole). Settings meta-mesh cannot enforce are
// problems naming the field, never warnings: a TLS setting that is ignored
// sends traffic less protected than the manifest says.

import type { FieldPath, ManifestDocument } from './manifest-document';
import type { ClusterTls, TlsMode } from './security-model';

export interface TlsSpec {
  readonly mode?: string;
  readonly clientCertificate?: string;
  readonly privateKey?: string;
  readonly caCertificates?: string;
  readonly credentialName?: string;
  readonly subjectAltNames?: readonly (string | undefined)[];
  readonly sni?: string;
  readonly insecureSkipVerify?: boolean;
  readonly caCrl?: string;
}

export interface PortTlsSpec {
  readonly port?: { readonly number?: number };
  readonly tls?: TlsSpec;
}

/** Where a traffic policy's tls settings are, for the search in precedence order. */
export interface TlsLayer {
  readonly tls?: TlsSpec;
  readonly portLevelSettings?: readonly (PortTlsSpec | undefined)[];
  /** Path of the traffic policy in its document, for problems. */
  readonly path: FieldPath;
}

/** The tls in force for `port`, and where it was written. */
export function pickTls(layers: readonly (TlsLayer | undefined)[], port: number): { spec: TlsSpec; path: FieldPath } | undefined {
  let picked: { spec: TlsSpec; path: FieldPath } | undefined;
  for (const layer of layers) {
    if (layer === undefined) continue;
    if (layer.tls !== undefined) picked = { spec: layer.tls, path: [...layer.path, 'tls'] };
    const i = (layer.portLevelSettings ?? []).findIndex((s) => s?.port?.number === port && s.tls !== undefined);
    if (i >= 0) picked = { spec: layer.portLevelSettings![i]!.tls!, path: [...layer.path, 'portLevelSettings', i, 'tls'] };
  }
  return picked;
}

/**
 * Validates one tls setting and translates it. `defaults` (the ServiceEntry's subjectAltNames, and its
 * endpoints' service accounts as "ns/sa") are the identities ISTIO_MUTUAL expects when the rule names
 * no subjectAltNames. Undefined for DISABLE.
 */
export function clusterTlsOf(
  spec: TlsSpec,
  path: FieldPath,
  doc: ManifestDocument,
  defaults: { readonly subjectAltNames: readonly string[]; readonly serviceAccounts: readonly string[] },
): ClusterTls | undefined {
  const mode = (spec.mode ?? 'DISABLE') as TlsMode;
  if (spec.credentialName !== undefined) {
    doc.problem([...path, 'credentialName'], 'credentialName names a Kubernetes secret, which meta-mesh cannot read; use clientCertificate, privateKey and caCertificates (file paths)');
    return undefined;
  }
  if (mode === 'DISABLE') return undefined;
  const sans = (spec.subjectAltNames ?? []).filter((s): s is string => s !== undefined);
  if (mode === 'ISTIO_MUTUAL') {
    for (const field of ['clientCertificate', 'privateKey', 'caCertificates', 'caCrl'] as const) {
      if (spec[field] !== undefined) {
        doc.problem([...path, field], `${field} must not be set with ISTIO_MUTUAL (the workload identity is used); use mode MUTUAL to bring your own certificates`);
        return undefined;
      }
    }
    if (spec.insecureSkipVerify === true) {
      doc.problem([...path, 'insecureSkipVerify'], 'insecureSkipVerify cannot be used with ISTIO_MUTUAL; remove it');
      return undefined;
    }
  }
  if (mode === 'MUTUAL' && (spec.clientCertificate === undefined || spec.privateKey === undefined)) {
    const missing = spec.clientCertificate === undefined ? 'clientCertificate' : 'privateKey';
    doc.problem([...path, missing], `mode MUTUAL needs clientCertificate and privateKey (PEM file paths); set ${missing}, or use ISTIO_MUTUAL for the workload identity`);
    return undefined;
  }
  if (mode === 'SIMPLE') {
    for (const field of ['clientCertificate', 'privateKey'] as const) {
      if (spec[field] !== undefined) {
        doc.problem([...path, field], `${field} is sent only with mode MUTUAL; set mode: MUTUAL or remove ${field}`);
        return undefined;
      }
    }
  }
  const expected = sans.length > 0 ? sans : mode === 'ISTIO_MUTUAL' ? defaults.subjectAltNames : [];
  const accounts = sans.length === 0 && mode === 'ISTIO_MUTUAL' ? defaults.serviceAccounts : [];
  return Object.freeze({
    mode,
    ...(spec.caCertificates === undefined ? {} : { caCertificates: spec.caCertificates }),
    ...(spec.clientCertificate === undefined ? {} : { clientCertificate: spec.clientCertificate }),
    ...(spec.privateKey === undefined ? {} : { privateKey: spec.privateKey }),
    ...(spec.caCrl === undefined ? {} : { caCrl: spec.caCrl }),
    ...(spec.sni === undefined ? {} : { sni: spec.sni }),
    ...(expected.length === 0 ? {} : { subjectAltNames: Object.freeze([...expected]) }),
    ...(accounts.length === 0 ? {} : { serviceAccounts: Object.freeze([...accounts]) }),
    ...(spec.insecureSkipVerify === true ? { insecureSkipVerify: true } : {}),
  });
}
