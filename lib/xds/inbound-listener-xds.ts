// A proxyless server's inbound listener (gRPC A36 "xDS-enabled servers", as
// istiod builds it for `xds.istio.io/grpc/lds/inbound/<ip>:<port>`) → the
// model: which connections the port accepts (its filter chains' transport
// sockets: DownstreamTlsContext = mutual TLS with the workload identity) and
// the RBAC filters every call must pass. Whatever meta-mesh cannot enforce
// exactly is refused here, so the listener is NACKed and the last good one
// (or none: the port then refuses connections) stays in force; nothing is
// silently weaker than the control plane asked for.
import type { InboundListenerModel, RbacRules } from '../config/security-model';
import { MeshError, MeshErrorCode } from '../protocol';
import {
  decodeAs,
  TYPE_DOWNSTREAM_TLS_CONTEXT,
  TYPE_HTTP_CONNECTION_MANAGER,
  TYPE_HTTP_RBAC,
  TYPE_HTTP_ROUTER,
  TYPE_NETWORK_RBAC,
} from './lds-protos';
import type { FilterChainProto, ListenerProto } from './lds-resource-type';
import { rbacRulesFromXds, type RbacRulesProto } from './rbac-from-xds';
import type { CertificateValidationContextProto, UpstreamTlsContextProto } from './envoy-types';

/** The prefix istiod's grpcgen serves inbound listeners under (the istio-agent's bootstrap template). */
export const ISTIO_INBOUND_LISTENER_PREFIX = 'xds.istio.io/grpc/lds/inbound/';

const RAW_BUFFER_SOCKET = 'envoy.transport_sockets.raw_buffer';

interface DownstreamTlsContextProto {
  common_tls_context?: UpstreamTlsContextProto['common_tls_context'] & { tls_params?: object };
  require_client_certificate?: { value?: boolean };
  require_sni?: { value?: boolean };
}

interface HttpConnectionManagerProto {
  rds?: object;
  scoped_routes?: object;
  route_config?: { virtual_hosts?: { typed_per_filter_config?: Record<string, unknown>; routes?: { typed_per_filter_config?: Record<string, unknown> }[] }[] };
  http_filters?: { name?: string; typed_config?: { type_url?: string; value?: Uint8Array }; config_discovery?: object; is_optional?: boolean; disabled?: boolean }[];
}

type Transport = 'tls' | 'raw';

interface Chain {
  readonly where: string;
  readonly mutualTls: boolean;
  readonly rbac: readonly RbacRules[];
  /** The filters' bytes, to compare the chains' authorization. */
  readonly filterBytes: string;
}

export function inboundListenerFromXds(listener: ListenerProto): InboundListenerModel {
  const name = listener.name ?? '';
  const bad = (why: string) => new MeshError(MeshErrorCode.CONFIG, `inbound listener ${name}: ${why}`);
  if (listener.use_original_dst?.value === true) throw bad('sets use_original_dst, which an xDS-enabled server does not support (gRPC A36 NACKs it too)');
  if ((listener.listener_filters ?? []).length > 0) throw bad('has listener_filters, which meta-mesh does not run; an inbound listener for a proxyless server carries none');
  // Envoy picks the most specific chain: one matching the transport exactly, else one with no
  // transport match, else the default chain.
  const exact = new Map<Transport, Chain>();
  const generic: Chain[] = [];
  (listener.filter_chains ?? []).forEach((fc, i) => {
    const transport = transportOf(fc, `filter_chains[${i}]`, bad);
    const chain = chainOf(fc, `filter_chains[${i}]`, bad);
    if (transport === undefined) generic.push(chain);
    else if (exact.has(transport)) throw bad(`filter_chains[${i}] matches transport_protocol ${transport === 'tls' ? 'tls' : 'raw_buffer'} like an earlier chain; Envoy refuses overlapping chains`);
    else exact.set(transport, chain);
  });
  if (generic.length > 1) throw bad('has more than one filter chain with no filter_chain_match; Envoy refuses overlapping chains');
  const fallback = generic[0] ?? (listener.default_filter_chain == null ? undefined : chainOf(listener.default_filter_chain, 'default_filter_chain', bad));
  const forTls = exact.get('tls') ?? fallback;
  const forRaw = exact.get('raw') ?? fallback;
  // A TLS connection reaching a plaintext chain, or plaintext reaching a TLS chain, cannot be served: refused.
  const acceptsTls = forTls?.mutualTls === true;
  const acceptsPlain = forRaw !== undefined && !forRaw.mutualTls;
  if (!acceptsTls && !acceptsPlain) throw bad('accepts no connection (no filter chain serves TLS with a DownstreamTlsContext or plaintext without one); send a chain for mTLS, plaintext or both');
  const chains = [acceptsTls ? forTls : undefined, acceptsPlain ? forRaw : undefined].filter((c): c is Chain => c !== undefined);
  if (chains.length === 2 && chains[0]!.filterBytes !== chains[1]!.filterBytes) {
    throw bad(`${chains[0]!.where} (mTLS) and ${chains[1]!.where} (plaintext) carry different filters; meta-mesh applies one authorization per listener, so give both chains the same RBAC filters`);
  }
  return Object.freeze({
    name,
    mode: acceptsTls && acceptsPlain ? 'PERMISSIVE' : acceptsTls ? 'STRICT' : 'DISABLE',
    rbac: chains[0]!.rbac,
  });
}

/** The transport a chain's filter_chain_match selects (undefined: any); other match fields are refused. */
function transportOf(fc: FilterChainProto, where: string, bad: (why: string) => MeshError): Transport | undefined {
  const m = fc.filter_chain_match;
  if (m == null) return undefined;
  const unsupported: string[] = [];
  if ((m.prefix_ranges ?? []).length > 0) unsupported.push('prefix_ranges');
  if ((m.address_suffix ?? '') !== '' || m.suffix_len != null) unsupported.push('address_suffix');
  if ((m.source_prefix_ranges ?? []).length > 0) unsupported.push('source_prefix_ranges');
  if ((m.direct_source_prefix_ranges ?? []).length > 0) unsupported.push('direct_source_prefix_ranges');
  if ((m.source_ports ?? []).length > 0) unsupported.push('source_ports');
  if (m.source_type !== undefined && m.source_type !== 'ANY') unsupported.push('source_type');
  if ((m.server_names ?? []).length > 0) unsupported.push('server_names');
  if ((m.application_protocols ?? []).length > 0) unsupported.push('application_protocols');
  if (m.destination_port != null) unsupported.push('destination_port');
  if (unsupported.length > 0) {
    throw bad(`${where}.filter_chain_match uses ${unsupported.join(', ')}; meta-mesh chooses an inbound chain by transport_protocol (tls or raw_buffer) only`);
  }
  const t = m.transport_protocol ?? '';
  if (t === '') return undefined;
  if (t === 'tls') return 'tls';
  if (t === 'raw_buffer') return 'raw';
  throw bad(`${where}.filter_chain_match.transport_protocol is '${t}'; use tls or raw_buffer`);
}

function chainOf(fc: FilterChainProto, where: string, bad: (why: string) => MeshError): Chain {
  const mutualTls = downstreamTlsOf(fc, where, bad);
  const rbac: RbacRules[] = [];
  const filters = fc.filters ?? [];
  if (filters.length === 0) throw bad(`${where} has no filters; istiod sends an http_connection_manager whose RBAC filters authorize calls`);
  filters.forEach((f, i) => {
    const at = `${where}.filters[${i}] (${f.name ?? ''})`;
    const typeUrl = f.typed_config?.type_url ?? '';
    const value = f.typed_config?.value ?? new Uint8Array();
    if (typeUrl === TYPE_NETWORK_RBAC) {
      const proto = decode<{ rules?: RbacRulesProto; matcher?: object }>(TYPE_NETWORK_RBAC, value, at, bad);
      if (proto.matcher != null) throw bad(`${at} uses the matcher API, which meta-mesh does not evaluate; send rules`);
      if (proto.rules != null) rbac.push(rbacRulesFromXds(proto.rules, f.name ?? 'envoy.filters.network.rbac', at));
    } else if (typeUrl === TYPE_HTTP_CONNECTION_MANAGER) {
      rbac.push(...httpFilterRbac(decode<HttpConnectionManagerProto>(TYPE_HTTP_CONNECTION_MANAGER, value, at, bad), at, bad));
    } else {
      throw bad(`${at} has type ${typeUrl || 'unset'}, which meta-mesh does not run on an inbound listener; it reads an http_connection_manager (with RBAC and router filters) and the network RBAC filter`);
    }
  });
  return { where, mutualTls, rbac: Object.freeze(rbac), filterBytes: filters.map((f) => `${f.typed_config?.type_url ?? ''}:${Buffer.from(f.typed_config?.value ?? []).toString('base64')}`).join('|') };
}

function httpFilterRbac(hcm: HttpConnectionManagerProto, where: string, bad: (why: string) => MeshError): RbacRules[] {
  if (hcm.rds != null || hcm.scoped_routes != null) throw bad(`${where} takes its routes over RDS; an inbound listener carries them inline (route_config)`);
  hcm.route_config?.virtual_hosts?.forEach((vh, v) => {
    // Per-route filter config would override the listener's RBAC for some calls; meta-mesh does not read it, so it is refused.
    if (Object.keys(vh.typed_per_filter_config ?? {}).length > 0) throw bad(`${where} route_config.virtual_hosts[${v}] has typed_per_filter_config (per-route RBAC), which meta-mesh does not apply`);
    vh.routes?.forEach((r, i) => {
      if (Object.keys(r.typed_per_filter_config ?? {}).length > 0) throw bad(`${where} route_config.virtual_hosts[${v}].routes[${i}] has typed_per_filter_config (per-route RBAC), which meta-mesh does not apply`);
    });
  });
  const out: RbacRules[] = [];
  (hcm.http_filters ?? []).forEach((f, i) => {
    const at = `${where}.http_filters[${i}] (${f.name ?? ''})`;
    if (f.disabled === true) return;
    if (f.config_discovery != null) throw bad(`${at} is discovered over ECDS, which meta-mesh does not support; send its typed_config`);
    const typeUrl = f.typed_config?.type_url ?? '';
    if (typeUrl === TYPE_HTTP_ROUTER) return;
    if (typeUrl === TYPE_HTTP_RBAC) {
      const proto = decode<{ rules?: RbacRulesProto; matcher?: object }>(TYPE_HTTP_RBAC, f.typed_config?.value ?? new Uint8Array(), at, bad);
      if (proto.matcher != null) throw bad(`${at} uses the matcher API, which meta-mesh does not evaluate; send rules`);
      if (proto.rules != null) out.push(rbacRulesFromXds(proto.rules, f.name ?? 'envoy.filters.http.rbac', at));
      return;
    }
    // gRPC A39: an unknown filter that is not optional makes the listener invalid.
    if (f.is_optional === true) return;
    throw bad(`${at} has type ${typeUrl || 'unset'}, which meta-mesh does not run; only RBAC and the router are read on an inbound listener (mark others is_optional)`);
  });
  return out;
}

/** Whether the chain's transport socket is mutual TLS with the workload identity; anything else TLS is refused. */
function downstreamTlsOf(fc: FilterChainProto, where: string, bad: (why: string) => MeshError): boolean {
  const socket = fc.transport_socket;
  if (socket == null) return false;
  const typeUrl = socket.typed_config?.type_url;
  if (typeUrl === undefined && (socket.name === RAW_BUFFER_SOCKET || (socket.name ?? '') === '')) return false;
  if (typeUrl !== TYPE_DOWNSTREAM_TLS_CONTEXT) throw bad(`${where}.transport_socket ${socket.name ?? ''} (${typeUrl ?? 'no typed_config'}) is not supported; meta-mesh reads ${TYPE_DOWNSTREAM_TLS_CONTEXT}`);
  const ctx = decode<DownstreamTlsContextProto>(TYPE_DOWNSTREAM_TLS_CONTEXT, socket.typed_config?.value ?? new Uint8Array(), `${where}.transport_socket`, bad);
  const at = `${where}.transport_socket DownstreamTlsContext`;
  if (ctx.require_client_certificate?.value !== true) {
    throw bad(`${at} does not set require_client_certificate; meta-mesh serves TLS only as mutual TLS (PeerAuthentication STRICT or PERMISSIVE), never server-only TLS`);
  }
  if (ctx.require_sni?.value === true) throw bad(`${at} sets require_sni, which meta-mesh does not enforce`);
  const common = ctx.common_tls_context ?? {};
  if (common.tls_params != null) throw bad(`${at} sets tls_params (protocol versions, ciphers), which meta-mesh does not apply; Node's defaults (TLS 1.2+) are used`);
  if ((common.tls_certificates ?? []).length > 0 || (common.tls_certificate_sds_secret_configs ?? []).length > 0) {
    throw bad(`${at} carries certificates inline or by SDS; meta-mesh serves with the workload identity (a certificate provider instance)`);
  }
  if ((common.tls_certificate_provider_instance ?? common.tls_certificate_certificate_provider_instance) == null) {
    throw bad(`${at} names no tls_certificate_provider_instance; meta-mesh serves mutual TLS with the workload identity only`);
  }
  if (common.validation_context_sds_secret_config != null) throw bad(`${at} uses validation_context_sds_secret_config (SDS); use a certificate provider instance for the root CA`);
  const validation: CertificateValidationContextProto | undefined = common.combined_validation_context?.default_validation_context ?? common.validation_context ?? undefined;
  const ca = validation?.ca_certificate_provider_instance ?? common.combined_validation_context?.validation_context_certificate_provider_instance ?? common.validation_context_certificate_provider_instance;
  if (validation?.trusted_ca != null) throw bad(`${at} has an inline trusted_ca; use a certificate provider instance for the root CA`);
  if (ca == null) throw bad(`${at} names no root CA provider instance, so client certificates could not be verified`);
  if ((validation?.match_subject_alt_names ?? []).length > 0 || (validation?.match_typed_subject_alt_names ?? []).length > 0) {
    throw bad(`${at} restricts client SANs (match_subject_alt_names), which meta-mesh does not check on the server side; authorize callers with RBAC principals instead`);
  }
  return true;
}

function decode<T>(typeUrl: string, value: Uint8Array, where: string, bad: (why: string) => MeshError): T {
  try {
    return decodeAs<T>(typeUrl, value);
  } catch (err) {
    throw bad(`${where} cannot be decoded as ${typeUrl} (${(err as Error).message})`);
  }
}
