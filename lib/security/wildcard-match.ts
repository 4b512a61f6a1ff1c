// Istio's string match for authorization fields, compiled once: exact values
// in a Set, `abc*` prefixes, `*abc` suffixes, and `*` for any non-empty value.
// A call then costs one Set lookup plus a scan of the (usually empty) prefix
// and suffix lists.

export type StringPredicate = (value: string) => boolean;

export function wildcardMatcher(patterns: readonly string[], normalize: (s: string) => string = (s) => s): StringPredicate {
  const exact = new Set<string>();
  const prefixes: string[] = [];
  const suffixes: string[] = [];
  let any = false;
  for (const raw of patterns) {
    const p = normalize(raw);
    if (p === '*') any = true;
    else if (p.endsWith('*')) prefixes.push(p.slice(0, -1));
    else if (p.startsWith('*')) suffixes.push(p.slice(1));
    else exact.add(p);
  }
  if (any) return (v) => v !== '';
  if (prefixes.length === 0 && suffixes.length === 0) {
    if (exact.size === 1) {
      const only = exact.values().next().value as string;
      return (v) => v === only;
    }
    return (v) => exact.has(v);
  }
  // The common shapes without the Set lookup or the loops (a call pays one closure each).
  if (exact.size === 0 && suffixes.length === 0 && prefixes.length === 1) {
    const prefix = prefixes[0]!;
    return (v) => v.startsWith(prefix);
  }
  if (exact.size === 0 && prefixes.length === 0 && suffixes.length === 1) {
    const suffix = suffixes[0]!;
    return (v) => v.endsWith(suffix);
  }
  return (v) => {
    if (exact.has(v)) return true;
    for (let i = 0; i < prefixes.length; i++) if (v.startsWith(prefixes[i]!)) return true;
    for (let i = 0; i < suffixes.length; i++) if (v.endsWith(suffixes[i]!)) return true;
    return false;
  };
}

/** Principals are compared without the `spiffe://` scheme, as Istio writes them (`cluster.local/ns/a/sa/b`). */
export function principalOf(value: string): string {
  return value.startsWith('spiffe://') ? value.slice(9) : value;
}

/**
 * principalOf, with Istio's reading of the trust domain `cluster.local` in a policy: it stands for the
 * mesh's own trust domain (Istio's ReplaceTrustDomainAliases), so `cluster.local/ns/a/sa/b` matches
 * `<trust domain>/ns/a/sa/b`. Other trust domains are compared as written.
 */
export function principalIn(trustDomain: string | undefined): (value: string) => string {
  if (trustDomain === undefined || trustDomain === 'cluster.local') return principalOf;
  return (value) => {
    const p = principalOf(value);
    return p.startsWith('cluster.local/') ? `${trustDomain}${p.slice('cluster.local'.length)}` : p;
  };
}
