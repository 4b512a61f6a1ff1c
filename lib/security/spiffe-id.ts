// SPIFFE ids in X.509 certificates: the URI SAN `spiffe://<trust domain>/ns/<ns>/sa/<sa>`
// Istio puts in every workload certificate.
import type { X509Certificate } from 'node:crypto';

export interface SpiffeId {
  /** The full URI, `spiffe://cluster.local/ns/default/sa/frontend`. */
  readonly uri: string;
  /** Without the scheme, as Istio writes principals: `cluster.local/ns/default/sa/frontend`. */
  readonly principal: string;
  readonly trustDomain: string;
  /** From the `/ns/<ns>/sa/<sa>` path Istio uses; undefined for other paths. */
  readonly namespace?: string;
  readonly serviceAccount?: string;
}

/** The first spiffe:// URI SAN of a certificate, if any. */
export function spiffeIdOf(cert: X509Certificate | undefined): SpiffeId | undefined {
  const sans = cert?.subjectAltName;
  if (sans === undefined) return undefined;
  for (const uri of uriSans(sans)) {
    const id = parseSpiffeId(uri);
    if (id !== undefined) return id;
  }
  return undefined;
}

/** The URI entries of a subjectAltName string as Node prints it (`DNS:a, URI:spiffe://...`). */
export function uriSans(subjectAltName: string): string[] {
  const out: string[] = [];
  for (const part of splitSans(subjectAltName)) if (part.startsWith('URI:')) out.push(unquote(part.slice(4)));
  return out;
}

/** The DNS entries of a subjectAltName string. */
export function dnsSans(subjectAltName: string): string[] {
  const out: string[] = [];
  for (const part of splitSans(subjectAltName)) if (part.startsWith('DNS:')) out.push(unquote(part.slice(4)));
  return out;
}

export function parseSpiffeId(uri: string): SpiffeId | undefined {
  if (!uri.startsWith('spiffe://')) return undefined;
  const principal = uri.slice(9);
  const slash = principal.indexOf('/');
  const trustDomain = slash < 0 ? principal : principal.slice(0, slash);
  if (trustDomain === '') return undefined;
  const m = /^\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(slash < 0 ? '' : principal.slice(slash));
  return {
    uri,
    principal,
    trustDomain,
    ...(m === null ? {} : { namespace: m[1]!, serviceAccount: m[2]! }),
  };
}

function splitSans(s: string): string[] {
  // Node quotes entries holding commas as JSON strings; a plain split is right for everything else.
  const out: string[] = [];
  let i = 0;
  while (i < s.length) {
    while (s[i] === ' ') i++;
    let j = i;
    let quoted = false;
    while (j < s.length && (quoted || s[j] !== ',')) {
      if (s[j] === '"' && s[j - 1] !== '\\') quoted = !quoted;
      j++;
    }
    out.push(s.slice(i, j));
    i = j + 1;
  }
  return out;
}

function unquote(v: string): string {
  if (v.startsWith('"') && v.endsWith('"')) {
    try {
      return JSON.parse(v) as string;
    } catch {
      return v;
    }
  }
  return v;
}
