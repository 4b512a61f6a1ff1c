// Host names as Istio reads them in DestinationRule.host, MetaRouter hosts and
// route destinations: a short name (no dot) is a Kubernetes service in the
// document's namespace, `<name>.<namespace>.svc.cluster.local`; a name with a
// dot, an IP address and `*` stay as written. `*.suffix` is a wildcard for
// every host under that suffix; among several patterns the most specific wins.
// Other kinds (security, redis) resolve their host fields through this too.

import { isIP } from 'node:net';

/** The Kubernetes cluster domain Istio assumes for short names. */
export const CLUSTER_DOMAIN = 'cluster.local';

/** Istio's short-name rule (ResolveShortnameToFQDN); `namespace` is the document's, `default` when unset. */
export function resolveHostName(host: string, namespace = 'default'): string {
  if (host === '' || host === '*' || host.includes('.') || isIP(host) !== 0) return host;
  return `${host}.${namespace === '' ? 'default' : namespace}.svc.${CLUSTER_DOMAIN}`;
}

/** True for `*` and `*.suffix` patterns. */
export function isWildcardHost(host: string): boolean {
  return host === '*' || host.startsWith('*.');
}

/** Whether `pattern` (exact, `*` or `*.suffix`) covers the concrete `host`. */
export function hostMatches(pattern: string, host: string): boolean {
  if (pattern === '*') return true;
  if (pattern.startsWith('*.')) return host.endsWith(pattern.slice(1)) && host.length > pattern.length - 1;
  return pattern === host;
}

/**
 * The pattern that applies to `host`: an exact name first, then the longest
 * matching wildcard (Istio's "most specific host wins"); undefined when none does.
 */
export function mostSpecificHost(patterns: Iterable<string>, host: string): string | undefined {
  let best: string | undefined;
  for (const p of patterns) {
    if (p === host) return p;
    if (isWildcardHost(p) && hostMatches(p, host) && (best === undefined || p.length > best.length)) best = p;
  }
  return best;
}
