// Authorizer: the AuthorizationPolicy and DubboAuthorizationPolicy objects
// that apply to this workload, compiled once per config snapshot into plain
// predicates. Istio's evaluation order: any matching DENY denies; with no
// ALLOW policy the call is allowed; otherwise some ALLOW policy must match.
// AUDIT policies never change the decision; matches are reported.
import type { AuthorizationPolicyModel, AuthzCondition, AuthzOperation, AuthzRule, AuthzSource } from '../config/security-model';
import type { Metadata } from '../protocol/metadata';
import { ipBlockMatcher } from './ip-block-matcher';
import { RuleIndex, type IndexedRule } from './rule-index';
import { principalIn, wildcardMatcher, type StringPredicate } from './wildcard-match';

/** What a policy can see of one inbound call. */
export interface AuthzRequest {
  /** The peer's verified SPIFFE id without `spiffe://` (`cluster.local/ns/a/sa/b`), '' without mTLS. */
  readonly principal: string;
  /** The namespace in the peer's SPIFFE id, '' without mTLS. */
  readonly namespace: string;
  /** The peer's address as the socket reports it. */
  readonly ip: string;
  /** The port the call arrived on. */
  readonly port: number;
  /** The call's protocol (`thrift`, `dubbo`, ...): DubboAuthorizationPolicy applies to `dubbo` only. */
  readonly protocol: string;
  /** Thrift `add` or `Calculator/add` (multiplexed); Dubbo `<interface>/<method>`. */
  readonly method: string;
  /** The call's metadata (Dubbo `interface` and `method`, headers, attachments). */
  readonly metadata: Metadata;
}

/** The workload the policies are chosen for, as Istio chooses them: namespace and labels. */
export interface AuthzWorkload {
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Istio's root namespace (default istio-system): its policies apply mesh-wide. */
  readonly rootNamespace: string;
  /** The mesh's trust domain: policy principals in `cluster.local` stand for it, as in Istio (default cluster.local). */
  readonly trustDomain?: string;
}

export interface AuthzDecision {
  readonly allowed: boolean;
  /** `kind namespace/name` of the policy that decided (a DENY that matched), if any. */
  readonly policy?: string;
  /** AUDIT policies that matched the call. */
  readonly audited?: readonly string[];
}

type Predicate = (r: AuthzRequest) => boolean;

const ALLOWED: AuthzDecision = Object.freeze({ allowed: true });
const NO_ALLOW_MATCHED: AuthzDecision = Object.freeze({ allowed: false });

export class Authorizer {
  private constructor(
    private readonly denies: RuleIndex,
    private readonly dubboDenies: RuleIndex,
    /** Istio ALLOW rules, and whether any ALLOW policy (even one with no rules) applies. */
    private readonly allows: RuleIndex,
    private readonly anyAllow: boolean,
    private readonly dubboAllows: RuleIndex,
    private readonly anyDubboAllow: boolean,
    private readonly audits: RuleIndex,
  ) {}

  /** The policies of `policies` that select `workload`, compiled. */
  static compile(policies: readonly AuthorizationPolicyModel[], workload: AuthzWorkload): Authorizer {
    const lists = { DENY: [[], []], ALLOW: [[], []], AUDIT: [[], []] } as Record<string, [IndexedRule[], IndexedRule[]]>;
    const principal = principalIn(workload.trustDomain);
    let anyAllow = false;
    let anyDubboAllow = false;
    for (const p of policies) {
      if (!applies(p, workload)) continue;
      const dubbo = p.kind === 'DubboAuthorizationPolicy';
      if (p.action === 'ALLOW') {
        if (dubbo) anyDubboAllow = true;
        else anyAllow = true;
      }
      const id = `${p.kind} ${p.namespace}/${p.name}`;
      for (const rule of p.rules) {
        lists[p.action]![dubbo ? 1 : 0].push({
          policy: id,
          rule,
          dubbo,
          matches: compileRule(rule, dubbo, principal, true),
          ...(rule.from.length === 1 ? { matchesBesidesSource: compileRule(rule, dubbo, principal, false) } : {}),
        });
      }
    }
    return new Authorizer(
      new RuleIndex(lists.DENY![0], principal),
      new RuleIndex(lists.DENY![1], principal),
      new RuleIndex(lists.ALLOW![0], principal),
      anyAllow,
      new RuleIndex(lists.ALLOW![1], principal),
      anyDubboAllow,
      new RuleIndex([...lists.AUDIT![0], ...lists.AUDIT![1]], principal),
    );
  }

  /** True when no policy applies: the check can be left out of the chain. */
  get isEmpty(): boolean {
    return !this.anyAllow && !this.anyDubboAllow && this.denies.size === 0 && this.dubboDenies.size === 0 && this.audits.size === 0;
  }

  check(r: AuthzRequest): AuthzDecision {
    const dubbo = r.protocol === 'dubbo';
    // Dubbo rules carry a protocol check, so a Dubbo AUDIT or DENY rule never matches a call of another protocol.
    const audited = this.audits.size === 0 ? undefined : this.audits.policiesMatching(r);
    const denied = this.denies.find(r) ?? (dubbo && this.dubboDenies.size > 0 ? this.dubboDenies.find(r) : undefined);
    if (denied !== undefined) return audited === undefined ? { allowed: false, policy: denied.policy } : { allowed: false, policy: denied.policy, audited };
    // Istio policies and Dubbo policies are two filters in Aeraki's chain: each must allow. With no
    // ALLOW policy of a kind, that kind allows.
    const allowed = (!this.anyAllow || this.allows.find(r) !== undefined) && (!dubbo || !this.anyDubboAllow || this.dubboAllows.find(r) !== undefined);
    if (audited !== undefined) return { allowed, audited };
    return allowed ? ALLOWED : NO_ALLOW_MATCHED;
  }
}

function applies(p: AuthorizationPolicyModel, w: AuthzWorkload): boolean {
  if (p.namespace !== w.namespace && p.namespace !== w.rootNamespace) return false;
  if (p.selector === undefined) return true;
  for (const [k, v] of Object.entries(p.selector)) if (!Object.hasOwn(w.labels, k) || w.labels[k] !== v) return false;
  return true;
}

type Normalize = (value: string) => string;

/** The rule's predicate; without `withSource`, everything but its `from` (for an index whose key proves it). */
function compileRule(rule: AuthzRule, dubbo: boolean, principal: Normalize, withSource: boolean): Predicate {
  const parts: Predicate[] = [];
  if (dubbo) parts.push((r) => r.protocol === 'dubbo');
  if (withSource && rule.from.length > 0) parts.push(any(rule.from.map((s) => compileSource(s, principal))));
  if (rule.to.length > 0) parts.push(any(rule.to.map((o) => compileOperation(o, dubbo))));
  for (const c of rule.when) parts.push(compileCondition(c, principal));
  return all(parts);
}

function compileSource(s: AuthzSource, principal: Normalize): Predicate {
  const parts: Predicate[] = [];
  // One closure per field, reading the field directly (no reader indirection on the hot path).
  if (s.principals !== undefined) parts.push(onPrincipal(wildcardMatcher(s.principals, principal), true));
  if (s.notPrincipals !== undefined) parts.push(onPrincipal(wildcardMatcher(s.notPrincipals, principal), false));
  if (s.namespaces !== undefined) parts.push(onNamespace(wildcardMatcher(s.namespaces), true));
  if (s.notNamespaces !== undefined) parts.push(onNamespace(wildcardMatcher(s.notNamespaces), false));
  if (s.ipBlocks !== undefined) parts.push(onIp(ipBlockMatcher(s.ipBlocks), true));
  if (s.notIpBlocks !== undefined) parts.push(onIp(ipBlockMatcher(s.notIpBlocks), false));
  return all(parts);
}

function onPrincipal(test: StringPredicate, want: boolean): Predicate {
  return want ? (r) => test(r.principal) : (r) => !test(r.principal);
}

function onNamespace(test: StringPredicate, want: boolean): Predicate {
  return want ? (r) => test(r.namespace) : (r) => !test(r.namespace);
}

function onIp(test: StringPredicate, want: boolean): Predicate {
  return want ? (r) => test(r.ip) : (r) => !test(r.ip);
}

function compileOperation(o: AuthzOperation, dubbo: boolean): Predicate {
  const parts: Predicate[] = [];
  // DubboAuthorizationPolicy: `methods` is the bare Dubbo method, `interfaces` the interface.
  const method = dubbo ? (r: AuthzRequest) => r.metadata.get('method') ?? '' : undefined;
  const iface = (r: AuthzRequest) => r.metadata.get('interface') ?? '';
  const onMethod = (test: StringPredicate, want: boolean): Predicate =>
    method !== undefined ? (want ? on(method, test) : not(on(method, test))) : want ? (r) => test(r.method) : (r) => !test(r.method);
  if (o.methods !== undefined) parts.push(onMethod(wildcardMatcher(o.methods), true));
  if (o.notMethods !== undefined) parts.push(onMethod(wildcardMatcher(o.notMethods), false));
  if (o.interfaces !== undefined) parts.push(on(iface, wildcardMatcher(o.interfaces)));
  if (o.notInterfaces !== undefined) parts.push(not(on(iface, wildcardMatcher(o.notInterfaces))));
  if (o.ports !== undefined) {
    const ports = new Set(o.ports);
    parts.push((r) => ports.has(r.port));
  }
  if (o.notPorts !== undefined) {
    const ports = new Set(o.notPorts);
    parts.push((r) => !ports.has(r.port));
  }
  return all(parts);
}

function compileCondition(c: AuthzCondition, principal: Normalize): Predicate {
  const read = conditionValue(c.key);
  const matcher = (values: readonly string[]): ((v: string) => boolean) => {
    if (c.key === 'source.ip') return ipBlockMatcher(values);
    if (c.key === 'source.principal') return wildcardMatcher(values, principal);
    return wildcardMatcher(values);
  };
  const parts: Predicate[] = [];
  if (c.values !== undefined) parts.push(on(read, matcher(c.values)));
  if (c.notValues !== undefined) parts.push(not(on(read, matcher(c.notValues))));
  return all(parts);
}

function conditionValue(key: string): (r: AuthzRequest) => string {
  switch (key) {
    case 'source.principal':
      return (r) => r.principal;
    case 'source.namespace':
      return (r) => r.namespace;
    case 'source.ip':
      return (r) => r.ip;
    case 'destination.port':
      return (r) => String(r.port);
    default: {
      const header = key.slice('request.headers['.length, -1);
      return (r) => r.metadata.get(header) ?? '';
    }
  }
}

function on(read: (r: AuthzRequest) => string, test: StringPredicate): Predicate {
  return (r) => test(read(r));
}

function not(p: Predicate): Predicate {
  return (r) => !p(r);
}

function all(parts: readonly Predicate[]): Predicate {
  if (parts.length === 0) return () => true;
  if (parts.length === 1) return parts[0]!;
  if (parts.length === 2) {
    const [a, b] = parts as [Predicate, Predicate];
    return (r) => a(r) && b(r);
  }
  return (r) => {
    for (let i = 0; i < parts.length; i++) if (!parts[i]!(r)) return false;
    return true;
  };
}

/** OR over the parts; no parts = never (a policy with no rules matches nothing). */
function any(parts: readonly Predicate[]): Predicate {
  if (parts.length === 0) return () => false;
  if (parts.length === 1) return parts[0]!;
  if (parts.length === 2) {
    const [a, b] = parts as [Predicate, Predicate];
    return (r) => a(r) || b(r);
  }
  return (r) => {
    for (let i = 0; i < parts.length; i++) if (parts[i]!(r)) return true;
    return false;
  };
}
