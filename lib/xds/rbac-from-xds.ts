// Envoy RBAC (envoy.config.rbac.v3) → the model's RbacRules, for the RBAC
// filters istiod puts on a proxyless server's inbound listener. What an RPC
// call has is mapped (the peer's verified SPIFFE id, its address, the port,
// the RPC method as `:method` and `/<method>` as the path, metadata as
// headers); any rule meta-mesh cannot evaluate exactly (CEL conditions,
// metadata and filter state, JWT claims, SNI, destination IP, the matcher
// API, other pseudo-headers) throws, so the listener is NACKed: an RBAC
// policy is never evaluated as weaker than written.
import { isIP } from 'node:net';
import type { MetadataMatcher } from '../config/model';
import type { RbacMatch, RbacPolicy, RbacRules } from '../config/security-model';
import { MeshError, MeshErrorCode } from '../protocol';
import type { HeaderMatcherProto, StringMatcherProto } from './envoy-types';
import { matcherFromXds } from './route-config-from-xds';

/** Call attributes the RBAC matchers read (lib/security/rbac-authorizer.ts supplies them). */
export const RBAC_PRINCIPAL = 'source.principal';
export const RBAC_METHOD = ':method';
export const RBAC_PATH = ':path';

interface CidrProto {
  address_prefix?: string;
  prefix_len?: { value?: number };
}

export interface PermissionProto {
  and_rules?: { rules?: PermissionProto[] };
  or_rules?: { rules?: PermissionProto[] };
  any?: boolean;
  header?: HeaderMatcherProto;
  url_path?: { path?: StringMatcherProto };
  destination_ip?: CidrProto;
  destination_port?: number;
  destination_port_range?: { start?: number; end?: number };
  metadata?: object;
  not_rule?: PermissionProto;
  requested_server_name?: StringMatcherProto;
  matcher?: object;
  uri_template?: object;
}

export interface PrincipalProto {
  and_ids?: { ids?: PrincipalProto[] };
  or_ids?: { ids?: PrincipalProto[] };
  any?: boolean;
  authenticated?: { principal_name?: StringMatcherProto };
  source_ip?: CidrProto;
  direct_remote_ip?: CidrProto;
  remote_ip?: CidrProto;
  header?: HeaderMatcherProto;
  url_path?: { path?: StringMatcherProto };
  metadata?: object;
  filter_state?: object;
  not_id?: PrincipalProto;
}

export interface RbacRulesProto {
  action?: string;
  policies?: Record<string, { permissions?: PermissionProto[]; principals?: PrincipalProto[]; condition?: object; checked_condition?: object }>;
}

/** Deepest nesting of and/or/not accepted: a peer-controlled config must not recurse without bound. */
const MAX_DEPTH = 32;

export function rbacRulesFromXds(rules: RbacRulesProto, filter: string, where: string): RbacRules {
  const action = rules.action ?? 'ALLOW';
  if (action !== 'ALLOW' && action !== 'DENY') {
    throw invalid(where, `has action ${action}; meta-mesh enforces ALLOW and DENY (istiod sends only those to proxyless servers)`);
  }
  const policies: RbacPolicy[] = [];
  // Sorted by name, so the decision is the same whatever order the map was written in.
  for (const name of Object.keys(rules.policies ?? {}).sort()) {
    const p = rules.policies![name]!;
    const at = `${where} policy '${name}'`;
    if (p.condition != null || p.checked_condition != null) throw invalid(at, 'has a CEL condition, which meta-mesh does not evaluate');
    if ((p.permissions ?? []).length === 0) throw invalid(at, 'has no permissions; Envoy requires at least one');
    if ((p.principals ?? []).length === 0) throw invalid(at, 'has no principals; Envoy requires at least one');
    policies.push(
      Object.freeze({
        name,
        permissions: Object.freeze(p.permissions!.map((x, i) => permission(x, `${at} permissions[${i}]`, 0))),
        principals: Object.freeze(p.principals!.map((x, i) => principal(x, `${at} principals[${i}]`, 0))),
      }),
    );
  }
  return Object.freeze({ filter, action, policies: Object.freeze(policies) });
}

function permission(p: PermissionProto, where: string, depth: number): RbacMatch {
  if (depth > MAX_DEPTH) throw invalid(where, `nests and/or/not rules deeper than ${MAX_DEPTH}`);
  if (p.any === true) return ANY;
  if (p.and_rules != null) return set('and', (p.and_rules.rules ?? []).map((x, i) => permission(x, `${where}.and_rules[${i}]`, depth + 1)), where);
  if (p.or_rules != null) return set('or', (p.or_rules.rules ?? []).map((x, i) => permission(x, `${where}.or_rules[${i}]`, depth + 1)), where);
  if (p.not_rule != null) return Object.freeze({ kind: 'not' as const, of: permission(p.not_rule, `${where}.not_rule`, depth + 1) });
  if (p.header != null) return value(headerMatcher(p.header, `${where}.header`));
  if (p.url_path != null) return value(stringMatcher(RBAC_PATH, p.url_path.path, `${where}.url_path`));
  if (p.destination_port !== undefined) return port(p.destination_port, p.destination_port + 1, where);
  if (p.destination_port_range != null) return port(p.destination_port_range.start ?? 0, p.destination_port_range.end ?? 0, where);
  if (p.destination_ip != null) throw invalid(where, 'matches destination_ip, which meta-mesh does not evaluate (istiod sends it for destination.ip conditions)');
  if (p.requested_server_name != null) throw invalid(where, 'matches requested_server_name (SNI), which meta-mesh does not evaluate (istiod sends it for connection.sni conditions)');
  if (p.metadata != null) throw invalid(where, 'matches dynamic metadata (JWT claims, request principals), which meta-mesh does not have');
  if (p.matcher != null || p.uri_template != null) throw invalid(where, 'uses a matcher extension or a URI template, which meta-mesh does not evaluate');
  throw invalid(where, 'sets no rule meta-mesh knows');
}

function principal(p: PrincipalProto, where: string, depth: number): RbacMatch {
  if (depth > MAX_DEPTH) throw invalid(where, `nests and/or/not ids deeper than ${MAX_DEPTH}`);
  if (p.any === true) return ANY;
  if (p.and_ids != null) return set('and', (p.and_ids.ids ?? []).map((x, i) => principal(x, `${where}.and_ids[${i}]`, depth + 1)), where);
  if (p.or_ids != null) return set('or', (p.or_ids.ids ?? []).map((x, i) => principal(x, `${where}.or_ids[${i}]`, depth + 1)), where);
  if (p.not_id != null) return Object.freeze({ kind: 'not' as const, of: principal(p.not_id, `${where}.not_id`, depth + 1) });
  if (p.authenticated != null) {
    const name = p.authenticated.principal_name;
    // Unset principal_name: any peer mutual TLS verified.
    if (name == null) return AUTHENTICATED;
    return Object.freeze({ kind: 'and' as const, of: Object.freeze([AUTHENTICATED, value(stringMatcher(RBAC_PRINCIPAL, name, `${where}.authenticated.principal_name`))]) });
  }
  // With no proxy in front, the socket's peer is the direct, the source and the remote address at once.
  const cidr = p.direct_remote_ip ?? p.source_ip ?? p.remote_ip;
  if (cidr != null) return Object.freeze({ kind: 'sourceIp' as const, cidr: cidrOf(cidr, where) });
  if (p.header != null) return value(headerMatcher(p.header, `${where}.header`));
  if (p.url_path != null) return value(stringMatcher(RBAC_PATH, p.url_path.path, `${where}.url_path`));
  if (p.metadata != null) throw invalid(where, 'matches dynamic metadata (JWT request principals, claims), which meta-mesh does not have');
  if (p.filter_state != null) throw invalid(where, 'matches filter state, which meta-mesh does not have');
  throw invalid(where, 'sets no identifier meta-mesh knows');
}

const ANY: RbacMatch = Object.freeze({ kind: 'any' });
const AUTHENTICATED: RbacMatch = Object.freeze({ kind: 'authenticated' });

function set(kind: 'and' | 'or', of: RbacMatch[], where: string): RbacMatch {
  if (of.length === 0) throw invalid(where, `has an empty ${kind} set; Envoy requires at least one rule`);
  return Object.freeze({ kind, of: Object.freeze(of) });
}

function value(matcher: MetadataMatcher): RbacMatch {
  return Object.freeze({ kind: 'value' as const, matcher });
}

function port(start: number, end: number, where: string): RbacMatch {
  if (!(Number.isInteger(start) && Number.isInteger(end) && start >= 0 && end <= 65536 && start < end)) throw invalid(where, `matches the empty port range [${start}, ${end})`);
  return Object.freeze({ kind: 'port' as const, start, end });
}

/** A header matcher on a call: the RPC method as `:method`, the path as `:path`, metadata keys as headers; other pseudo-headers are refused. */
function headerMatcher(h: HeaderMatcherProto, where: string): MetadataMatcher {
  const name = (h.name ?? '').toLowerCase();
  if (name.startsWith(':') && name !== RBAC_METHOD && name !== RBAC_PATH) {
    throw invalid(where, `matches the pseudo-header ${name}, which an RPC call has no value for (meta-mesh maps :method to the RPC method and :path to /<method>)`);
  }
  if (name === 'host') throw invalid(where, 'matches the host header, which an RPC call has no value for');
  return matcherFromXds({ ...h, name }, where);
}

function stringMatcher(name: string, m: StringMatcherProto | undefined, where: string): MetadataMatcher {
  if (m == null) throw invalid(where, 'has no string matcher');
  return matcherFromXds({ name, string_match: m }, where);
}

function cidrOf(c: CidrProto, where: string): string {
  const address = c.address_prefix ?? '';
  if (address === '') throw invalid(where, 'has a CIDR range with no address_prefix');
  const family = isIP(address);
  if (family === 0) throw invalid(where, `has a CIDR range whose address_prefix '${address}' is not an IP address`);
  // Envoy: an unset prefix_len is 0 (every address of the family).
  const len = c.prefix_len?.value ?? 0;
  if (!Number.isInteger(len) || len < 0 || len > (family === 4 ? 32 : 128)) throw invalid(where, `has a CIDR range with prefix_len ${len}`);
  return `${address}/${len}`;
}

function invalid(where: string, why: string): MeshError {
  return new MeshError(MeshErrorCode.CONFIG, `${where} ${why}`);
}
