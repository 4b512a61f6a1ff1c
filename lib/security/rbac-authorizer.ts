// RbacAuthorizer: the RBAC filters of an inbound listener from xDS, compiled
// once per listener version into predicates over a call, with Envoy's
// meaning: filters run in chain order and each must allow; an ALLOW filter
// allows a call some policy matches, a DENY filter denies it; a policy
// matches when one of its permissions and one of its principals match.
import type { RbacMatch, RbacRules } from '../config/security-model';
import type { Metadata } from '../protocol/metadata';
import { compileMatcher } from '../route/metadata-matcher';
import type { AuthzDecision, AuthzRequest } from './authorizer';
import { ipBlockMatcher } from './ip-block-matcher';

type Predicate = (r: AuthzRequest, attributes: Metadata) => boolean;

interface CompiledFilter {
  readonly filter: string;
  readonly deny: boolean;
  readonly policies: readonly { readonly name: string; readonly matches: Predicate }[];
}

const ALLOWED: AuthzDecision = Object.freeze({ allowed: true });

export class RbacAuthorizer {
  private readonly filters: readonly CompiledFilter[];

  constructor(rules: readonly RbacRules[], private readonly listener: string) {
    this.filters = rules.map((f) => ({
      filter: f.filter,
      deny: f.action === 'DENY',
      policies: f.policies.map((p) => ({ name: p.name, matches: both(any(p.permissions.map(compile)), any(p.principals.map(compile))) })),
    }));
  }

  check(r: AuthzRequest): AuthzDecision {
    if (this.filters.length === 0) return ALLOWED;
    const attributes = attributesOf(r);
    for (const f of this.filters) {
      const matched = f.policies.find((p) => p.matches(r, attributes));
      if (f.deny && matched !== undefined) return { allowed: false, policy: `RBAC ${this.listener} ${f.filter} DENY policy '${matched.name}'` };
      if (!f.deny && matched === undefined) return { allowed: false, policy: `RBAC ${this.listener} ${f.filter} (ALLOW: no policy matched)` };
    }
    return ALLOWED;
  }
}

/**
 * What the RBAC matchers read of a call, under the names rbac-from-xds.ts gives them: the peer's
 * verified SPIFFE URI, the RPC method as `:method` and `/<method>` as `:path`; any other name is
 * the call's metadata key. The peer cannot set the first three: they come from the connection and the codec.
 */
function attributesOf(r: AuthzRequest): Metadata {
  const view = {
    get(name: string): string | undefined {
      switch (name) {
        case 'source.principal':
          return r.principal === '' ? undefined : `spiffe://${r.principal}`;
        case ':method':
          return r.method;
        case ':path':
          return `/${r.method}`;
        default:
          return r.metadata.get(name);
      }
    },
    has(name: string): boolean {
      return view.get(name) !== undefined;
    },
  };
  return view as unknown as Metadata;
}

function compile(m: RbacMatch): Predicate {
  switch (m.kind) {
    case 'any':
      return () => true;
    case 'and': {
      const parts = m.of.map(compile);
      return (r, a) => parts.every((p) => p(r, a));
    }
    case 'or':
      return any(m.of.map(compile));
    case 'not': {
      const inner = compile(m.of);
      return (r, a) => !inner(r, a);
    }
    case 'value': {
      const test = compileMatcher(m.matcher);
      return (_r, a) => test(a);
    }
    case 'authenticated':
      return (r) => r.principal !== '';
    case 'sourceIp': {
      const test = ipBlockMatcher([m.cidr]);
      return (r) => test(r.ip);
    }
    case 'port': {
      const { start, end } = m;
      return (r) => r.port >= start && r.port < end;
    }
  }
}

function any(parts: readonly Predicate[]): Predicate {
  return (r, a) => parts.some((p) => p(r, a));
}

function both(a: Predicate, b: Predicate): Predicate {
  return (r, x) => a(r, x) && b(r, x);
}
