// Checked PeerAuthentication, AuthorizationPolicy and DubboAuthorizationPolicy
// manifests → the immutable SecurityPolicies of a snapshot. Fields meta-mesh
// cannot enforce on RPC traffic (JWT principals, HTTP hosts and paths,
// CUSTOM actions, targetRef) are problems naming the field: ignoring them
// would make a policy allow more, or deny less, than it says.

import { isIP } from 'node:net';
import type { FieldPath } from './manifest-document';
import type { Manifest } from './manifest-types';
import type {
  AuthorizationPolicyModel,
  AuthzCondition,
  AuthzOperation,
  AuthzRule,
  AuthzSource,
  MtlsMode,
  PeerAuthenticationPolicy,
  SecurityPolicies,
} from './security-model';

type List<T> = readonly (T | undefined)[];
type Labels = Readonly<Record<string, string>>;

export interface PeerAuthenticationSpec {
  readonly selector?: { readonly matchLabels?: Labels };
  readonly mtls?: { readonly mode?: string };
  readonly portLevelMtls?: Readonly<Record<string, { readonly mode?: string }>>;
}

interface SourceSpec {
  readonly [field: string]: List<string> | undefined;
}
interface OperationSpec {
  readonly [field: string]: List<string> | undefined;
}
interface RuleSpec {
  readonly from?: List<{ readonly source?: SourceSpec }>;
  readonly to?: List<{ readonly operation?: OperationSpec }>;
  readonly when?: List<{ readonly key?: string; readonly values?: List<string>; readonly notValues?: List<string> }>;
}

export interface AuthorizationPolicySpec {
  readonly selector?: { readonly matchLabels?: Labels };
  readonly targetRef?: unknown;
  readonly targetRefs?: unknown;
  readonly action?: string;
  readonly provider?: unknown;
  readonly rules?: List<RuleSpec>;
}

export type DubboAuthorizationPolicySpec = Pick<AuthorizationPolicySpec, 'action' | 'rules'>;

/** Istio's condition keys that make sense for RPC calls; request.headers[...] reads the call's metadata. */
const WHEN_KEYS = ['source.principal', 'source.namespace', 'source.ip', 'destination.port'];
const HEADER_KEY = /^request\.headers\[([^\]]+)\]$/;

const UNSUPPORTED_SOURCE: Readonly<Record<string, string>> = {
  requestPrincipals: 'JWT request principals need RequestAuthentication, which meta-mesh does not read',
  notRequestPrincipals: 'JWT request principals need RequestAuthentication, which meta-mesh does not read',
  remoteIpBlocks: 'RPC calls carry no X-Forwarded-For; use ipBlocks (the peer address)',
  notRemoteIpBlocks: 'RPC calls carry no X-Forwarded-For; use notIpBlocks (the peer address)',
};
const UNSUPPORTED_OPERATION: Readonly<Record<string, string>> = {
  hosts: 'HTTP hosts do not exist in Thrift or Dubbo; use ports or methods',
  notHosts: 'HTTP hosts do not exist in Thrift or Dubbo; use notPorts or notMethods',
  paths: 'HTTP paths do not exist in Thrift or Dubbo; use methods (Thrift `add` or `Service/add`, Dubbo `<interface>/<method>`)',
  notPaths: 'HTTP paths do not exist in Thrift or Dubbo; use notMethods',
};

export function peerAuthenticationsOf(manifests: readonly Manifest<PeerAuthenticationSpec>[]): PeerAuthenticationPolicy[] {
  return manifests.map(({ name, namespace, spec }) => {
    const portLevel = new Map<number, MtlsMode>();
    for (const [port, setting] of Object.entries(spec.portLevelMtls ?? {})) {
      const n = Number(port);
      if (!Number.isInteger(n) || n < 1 || n > 65535) continue; // reported by the caller's port check below
      portLevel.set(n, (setting.mode ?? 'UNSET') as MtlsMode);
    }
    return Object.freeze({
      name,
      namespace,
      ...(spec.selector?.matchLabels === undefined ? {} : { selector: Object.freeze({ ...spec.selector.matchLabels }) }),
      mode: (spec.mtls?.mode ?? 'UNSET') as MtlsMode,
      portLevel,
    });
  });
}

/** Reports ports of portLevelMtls that are not port numbers. */
export function checkPeerAuthentication(m: Manifest<PeerAuthenticationSpec>): void {
  for (const port of Object.keys(m.spec.portLevelMtls ?? {})) {
    const n = Number(port);
    if (!Number.isInteger(n) || n < 1 || n > 65535) m.doc.problem(['spec', 'portLevelMtls', port], `'${port}' is not a port number (1-65535)`);
  }
  if (m.spec.portLevelMtls !== undefined && m.spec.selector === undefined) {
    m.doc.problem(['spec', 'portLevelMtls'], 'portLevelMtls needs a selector (Istio applies port-level mTLS only to selected workloads); add selector.matchLabels');
  }
}

export function authorizationPoliciesOf(
  istio: readonly Manifest<AuthorizationPolicySpec>[],
  dubbo: readonly Manifest<DubboAuthorizationPolicySpec>[],
): AuthorizationPolicyModel[] {
  const out: AuthorizationPolicyModel[] = [];
  for (const m of istio) {
    const policy = readPolicy(m, 'AuthorizationPolicy');
    if (policy !== undefined) out.push(policy);
  }
  for (const m of dubbo) {
    const policy = readPolicy(m, 'DubboAuthorizationPolicy');
    if (policy !== undefined) out.push(policy);
  }
  return out;
}

function readPolicy(m: Manifest<AuthorizationPolicySpec>, kind: AuthorizationPolicyModel['kind']): AuthorizationPolicyModel | undefined {
  const { spec, doc } = m;
  const action = spec.action ?? 'ALLOW';
  if (action === 'CUSTOM') {
    doc.problem(['spec', 'action'], 'CUSTOM (an external authorizer) is not supported by meta-mesh; use ALLOW, DENY or AUDIT, or keep this policy on a sidecar');
    return undefined;
  }
  for (const field of ['targetRef', 'targetRefs', 'provider'] as const) {
    if (spec[field] !== undefined) {
      doc.problem(['spec', field], `'${field}' is not supported by meta-mesh (it targets gateways, waypoints or CUSTOM providers); use selector`);
      return undefined;
    }
  }
  const rules: AuthzRule[] = [];
  let ok = true;
  (spec.rules ?? []).forEach((rule, i) => {
    if (rule === undefined) {
      ok = false;
      return;
    }
    const read = readRule(rule, ['spec', 'rules', i], m);
    if (read === undefined) ok = false;
    else rules.push(read);
  });
  if (!ok) return undefined;
  const labels = spec.selector?.matchLabels;
  return Object.freeze({
    kind,
    name: m.name,
    namespace: m.namespace,
    ...(labels === undefined ? {} : { selector: Object.freeze({ ...labels }) }),
    action: action as AuthorizationPolicyModel['action'],
    rules: Object.freeze(rules),
  });
}

function readRule(rule: RuleSpec, path: FieldPath, m: Manifest<unknown>): AuthzRule | undefined {
  let ok = true;
  const from: AuthzSource[] = [];
  (rule.from ?? []).forEach((f, i) => {
    const source = readSource(f?.source ?? {}, [...path, 'from', i, 'source'], m);
    if (source === undefined) ok = false;
    else from.push(source);
  });
  const to: AuthzOperation[] = [];
  (rule.to ?? []).forEach((t, i) => {
    const op = readOperation(t?.operation ?? {}, [...path, 'to', i, 'operation'], m);
    if (op === undefined) ok = false;
    else to.push(op);
  });
  const when: AuthzCondition[] = [];
  (rule.when ?? []).forEach((w, i) => {
    if (w?.key === undefined) {
      ok = false;
      return;
    }
    const at = [...path, 'when', i, 'key'];
    if (!WHEN_KEYS.includes(w.key) && !HEADER_KEY.test(w.key)) {
      m.doc.problem(at, `condition key '${w.key}' is not supported for RPC calls; use ${WHEN_KEYS.join(', ')} or request.headers[<metadata key>]`);
      ok = false;
      return;
    }
    if (w.values === undefined && w.notValues === undefined) {
      m.doc.problem([...path, 'when', i], `condition on '${w.key}' needs values or notValues`);
      ok = false;
      return;
    }
    const header = HEADER_KEY.exec(w.key);
    when.push(
      Object.freeze({
        key: header === null ? w.key : `request.headers[${header[1]!.toLowerCase()}]`,
        ...(w.values === undefined ? {} : { values: Object.freeze(w.values.filter(defined)) }),
        ...(w.notValues === undefined ? {} : { notValues: Object.freeze(w.notValues.filter(defined)) }),
      }),
    );
  });
  if (!ok) return undefined;
  return Object.freeze({ from: Object.freeze(from), to: Object.freeze(to), when: Object.freeze(when) });
}

function readSource(s: SourceSpec, path: FieldPath, m: Manifest<unknown>): AuthzSource | undefined {
  let ok = true;
  const out: Record<string, readonly string[]> = {};
  for (const [field, raw] of Object.entries(s)) {
    if (raw === undefined) continue;
    const values = raw.filter(defined);
    const at = [...path, field];
    if (Object.hasOwn(UNSUPPORTED_SOURCE, field)) {
      m.doc.problem(at, `'${field}' cannot be enforced by meta-mesh: ${UNSUPPORTED_SOURCE[field]}`);
      ok = false;
      continue;
    }
    if (field === 'ipBlocks' || field === 'notIpBlocks') {
      values.forEach((v, i) => {
        if (!validCidr(v)) {
          m.doc.problem([...at, i], `'${v}' is not an IP address or CIDR block (e.g. 10.0.0.0/8, 2001:db8::/32)`);
          ok = false;
        }
      });
      out[field] = Object.freeze(values);
      continue;
    }
    if (field === 'serviceAccounts' || field === 'notServiceAccounts') {
      // "ns/sa" is the principal "<trust domain>/ns/<ns>/sa/<sa>" in any trust domain.
      const principals: string[] = [];
      values.forEach((v, i) => {
        const parts = v.split('/');
        if (parts.length !== 2 || parts[0] === '' || parts[1] === '' || v.includes('*')) {
          m.doc.problem([...at, i], `'${v}' is not a service account; write <namespace>/<name>`);
          ok = false;
        } else principals.push(`*/ns/${parts[0]}/sa/${parts[1]}`);
      });
      const target = field === 'serviceAccounts' ? 'principals' : 'notPrincipals';
      out[target] = Object.freeze([...(out[target] ?? []), ...principals]);
      continue;
    }
    if (!checkWildcards(values, at, m)) ok = false;
    out[field] = Object.freeze([...(out[field] ?? []), ...values]);
  }
  return ok ? Object.freeze(out) : undefined;
}

function readOperation(o: OperationSpec, path: FieldPath, m: Manifest<unknown>): AuthzOperation | undefined {
  let ok = true;
  const out: Record<string, readonly (string | number)[]> = {};
  for (const [field, raw] of Object.entries(o)) {
    if (raw === undefined) continue;
    const values = raw.filter(defined);
    const at = [...path, field];
    if (Object.hasOwn(UNSUPPORTED_OPERATION, field)) {
      m.doc.problem(at, `'${field}' cannot be enforced on RPC calls: ${UNSUPPORTED_OPERATION[field]}`);
      ok = false;
      continue;
    }
    if (field === 'ports' || field === 'notPorts') {
      const ports: number[] = [];
      values.forEach((v, i) => {
        const n = Number(v);
        if (!/^\d+$/.test(String(v)) || n < 1 || n > 65535) {
          m.doc.problem([...at, i], `'${v}' is not a port number (1-65535)`);
          ok = false;
        } else ports.push(n);
      });
      out[field] = Object.freeze(ports);
      continue;
    }
    if (!checkWildcards(values, at, m)) ok = false;
    out[field] = Object.freeze(values);
  }
  return ok ? (Object.freeze(out) as AuthzOperation) : undefined;
}

/** Istio allows `*` only as the whole value, a prefix or a suffix. */
function checkWildcards(values: readonly string[], at: FieldPath, m: Manifest<unknown>): boolean {
  let ok = true;
  values.forEach((v, i) => {
    const inner = v.length > 1 ? v.slice(1, -1) : '';
    if (inner.includes('*') || (v.length > 1 && v.startsWith('*') && v.endsWith('*'))) {
      m.doc.problem([...at, i], `'${v}' puts '*' in the middle or at both ends; Istio allows exact, prefix* , *suffix or *`);
      ok = false;
    }
  });
  return ok;
}

function validCidr(v: string): boolean {
  const slash = v.indexOf('/');
  if (slash < 0) return isIP(v) !== 0;
  const family = isIP(v.slice(0, slash));
  const bitsText = v.slice(slash + 1);
  if (family === 0 || !/^\d{1,3}$/.test(bitsText)) return false;
  return Number(bitsText) <= (family === 4 ? 32 : 128);
}

function defined<T>(v: T | undefined): v is T {
  return v !== undefined;
}

export function securityPoliciesOf(
  peerAuthentications: readonly Manifest<PeerAuthenticationSpec>[],
  authorizationPolicies: readonly Manifest<AuthorizationPolicySpec>[],
  dubboAuthorizationPolicies: readonly Manifest<DubboAuthorizationPolicySpec>[],
): SecurityPolicies {
  for (const m of peerAuthentications) checkPeerAuthentication(m);
  return Object.freeze({
    peerAuthentications: Object.freeze(peerAuthenticationsOf(peerAuthentications)),
    authorizationPolicies: Object.freeze(authorizationPoliciesOf(authorizationPolicies, dubboAuthorizationPolicies)),
  });
}
