// The security part of a config snapshot: Istio PeerAuthentication and
// AuthorizationPolicy, Aeraki DubboAuthorizationPolicy, and a cluster's TLS
// settings (DestinationRule `tls`, or a CDS transport_socket). Validated at
// the edge like the rest of the model; lib/security compiles it.
import type { MetadataMatcher } from './model';

/** PeerAuthentication `mtls.mode`. UNSET inherits from the enclosing scope. */
export type MtlsMode = 'UNSET' | 'DISABLE' | 'PERMISSIVE' | 'STRICT';

export interface PeerAuthenticationPolicy {
  readonly name: string;
  readonly namespace: string;
  /** `selector.matchLabels`; absent = every workload of the namespace (or of the mesh, in the root namespace). */
  readonly selector?: Readonly<Record<string, string>>;
  readonly mode: MtlsMode;
  /** `portLevelMtls`, keyed by the workload's port number. */
  readonly portLevel: ReadonlyMap<number, MtlsMode>;
}

/** Istio's string match: exact, `abc*` prefix, `*abc` suffix, `*` any non-empty value. */
export type WildcardString = string;

export interface AuthzSource {
  readonly principals?: readonly WildcardString[];
  readonly notPrincipals?: readonly WildcardString[];
  readonly namespaces?: readonly WildcardString[];
  readonly notNamespaces?: readonly WildcardString[];
  /** CIDRs or single addresses, checked against the peer's socket address. */
  readonly ipBlocks?: readonly string[];
  readonly notIpBlocks?: readonly string[];
}

export interface AuthzOperation {
  /** The RPC method: Thrift `add` (multiplexed `Calculator/add`), Dubbo `<interface>/<method>`; DubboAuthorizationPolicy: the bare method. */
  readonly methods?: readonly WildcardString[];
  readonly notMethods?: readonly WildcardString[];
  readonly ports?: readonly number[];
  readonly notPorts?: readonly number[];
  /** DubboAuthorizationPolicy only: the Dubbo interface. */
  readonly interfaces?: readonly WildcardString[];
  readonly notInterfaces?: readonly WildcardString[];
}

export interface AuthzCondition {
  /** `source.principal`, `source.namespace`, `source.ip`, `destination.port`, or `request.headers[<metadata key>]`. */
  readonly key: string;
  readonly values?: readonly string[];
  readonly notValues?: readonly string[];
}

export interface AuthzRule {
  /** OR; empty = any source. */
  readonly from: readonly AuthzSource[];
  /** OR; empty = any operation. */
  readonly to: readonly AuthzOperation[];
  /** AND; empty = no condition. */
  readonly when: readonly AuthzCondition[];
}

export type AuthzAction = 'ALLOW' | 'DENY' | 'AUDIT';

export interface AuthorizationPolicyModel {
  /** Which CRD it came from: a DubboAuthorizationPolicy applies to Dubbo calls only. */
  readonly kind: 'AuthorizationPolicy' | 'DubboAuthorizationPolicy';
  readonly name: string;
  readonly namespace: string;
  readonly selector?: Readonly<Record<string, string>>;
  readonly action: AuthzAction;
  /** No rules: the policy matches nothing (an ALLOW policy with no rules denies everything, as in Istio). */
  readonly rules: readonly AuthzRule[];
}

export interface SecurityPolicies {
  readonly peerAuthentications: readonly PeerAuthenticationPolicy[];
  readonly authorizationPolicies: readonly AuthorizationPolicyModel[];
}

/** DestinationRule `tls.mode`. */
export type TlsMode = 'DISABLE' | 'SIMPLE' | 'MUTUAL' | 'ISTIO_MUTUAL';

/** The TLS a cluster's upstream connections use (DestinationRule `tls`, or CDS `transport_socket`). */
export interface ClusterTls {
  readonly mode: TlsMode;
  /** PEM file paths (SIMPLE / MUTUAL). ISTIO_MUTUAL uses the workload identity instead. */
  readonly caCertificates?: string;
  readonly clientCertificate?: string;
  readonly privateKey?: string;
  /** PEM file of revoked certificates (DestinationRule caCrl). */
  readonly caCrl?: string;
  readonly sni?: string;
  /** Accepted server identities: SPIFFE URIs or DNS names; empty = any the CA signed (SIMPLE/MUTUAL: the host name). */
  readonly subjectAltNames?: readonly string[];
  /**
   * ISTIO_MUTUAL without rule SANs: the endpoints' service accounts (`<ns>/<sa>`), also accepted as
   * `spiffe://<trust domain>/ns/<ns>/sa/<sa>` with the mesh's trust domain, known only at connect time.
   */
  readonly serviceAccounts?: readonly string[];
  readonly insecureSkipVerify?: boolean;
}

export const EMPTY_SECURITY: SecurityPolicies = Object.freeze({ peerAuthentications: Object.freeze([]), authorizationPolicies: Object.freeze([]) });

/**
 * One matcher of an Envoy RBAC policy (a permission or a principal), as istiod generates it for a
 * proxyless server's inbound listener. `value` matchers read a call attribute by name: the peer's
 * verified SPIFFE URI (`source.principal`, with `spiffe://`), the RPC method (`:method`), the RPC
 * path `/` + method (`:path`), or a metadata key.
 */
export type RbacMatch =
  | { readonly kind: 'any' }
  | { readonly kind: 'and' | 'or'; readonly of: readonly RbacMatch[] }
  | { readonly kind: 'not'; readonly of: RbacMatch }
  | { readonly kind: 'value'; readonly matcher: MetadataMatcher }
  /** Any peer whose certificate mutual TLS verified. */
  | { readonly kind: 'authenticated' }
  | { readonly kind: 'sourceIp'; readonly cidr: string }
  /** The port the call arrived on, in [start, end). */
  | { readonly kind: 'port'; readonly start: number; readonly end: number };

export interface RbacPolicy {
  readonly name: string;
  /** OR over the permissions, AND with OR over the principals (Envoy's Policy). */
  readonly permissions: readonly RbacMatch[];
  readonly principals: readonly RbacMatch[];
}

/** One RBAC filter: ALLOW (deny unless a policy matches) or DENY (deny if one matches). */
export interface RbacRules {
  /** `envoy.filters.http.rbac`, `envoy.filters.network.rbac`, ... (for messages). */
  readonly filter: string;
  readonly action: 'ALLOW' | 'DENY';
  readonly policies: readonly RbacPolicy[];
}

/** A proxyless server's inbound listener from xDS (gRPC A36): its mTLS mode and its RBAC filters, in chain order. */
export interface InboundListenerModel {
  readonly name: string;
  /** STRICT: TLS chain only; PERMISSIVE: TLS and plaintext chains; DISABLE: plaintext only. */
  readonly mode: 'STRICT' | 'PERMISSIVE' | 'DISABLE';
  /** Every filter must allow a call. */
  readonly rbac: readonly RbacRules[];
}
