// A CDS cluster's transport_socket → the model ClusterTls. istiod sends
// proxyless workloads an UpstreamTlsContext naming certificate provider
// instances (the bootstrap's file_watcher: the workload identity) for the
// client certificate and the root CA, and SAN matchers for the server's
// SPIFFE id; that is mutual TLS with the workload identity (ISTIO_MUTUAL).
// Anything else meta-mesh cannot honour makes the cluster invalid (NACK),
// so a cluster is never used with less TLS than the control plane asked for.
import type { ClusterTls } from '../config/security-model';
import { MeshError, MeshErrorCode } from '../protocol';
import type { CertificateValidationContextProto, ClusterProto, StringMatcherProto, UpstreamTlsContextProto } from './envoy-types';
import { xdsProtos } from './xds-protos';

const UPSTREAM_TLS_CONTEXT = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';
const RAW_BUFFER = 'envoy.transport_sockets.raw_buffer';

export function clusterTlsFromXds(c: ClusterProto): ClusterTls | undefined {
  const name = c.name ?? '';
  const bad = (why: string) => new MeshError(MeshErrorCode.CONFIG, `cluster ${name}: ${why}`);
  if ((c.transport_socket_matches ?? []).length > 0) {
    throw bad('transport_socket_matches (a socket chosen per endpoint) is not supported by meta-mesh; send one transport_socket');
  }
  const socket = c.transport_socket;
  if (socket === undefined || socket === null) return undefined;
  const typeUrl = socket.typed_config?.type_url;
  if (typeUrl === undefined && (socket.name === RAW_BUFFER || socket.name === undefined || socket.name === '')) return undefined;
  if (typeUrl !== UPSTREAM_TLS_CONTEXT) {
    throw bad(`transport_socket ${socket.name ?? ''} (${typeUrl ?? 'no typed_config'}) is not supported; meta-mesh reads ${UPSTREAM_TLS_CONTEXT}`);
  }
  let ctx: UpstreamTlsContextProto;
  try {
    ctx = xdsProtos().upstreamTlsContext.decode(Buffer.from(socket.typed_config!.value ?? []));
  } catch (err) {
    throw bad(`transport_socket's UpstreamTlsContext cannot be decoded (${(err as Error).message})`);
  }
  const common = ctx.common_tls_context ?? {};
  if ((common.tls_certificates ?? []).length > 0 || (common.tls_certificate_sds_secret_configs ?? []).length > 0) {
    throw bad('the UpstreamTlsContext carries certificates inline or by SDS; meta-mesh takes the client certificate from a certificate provider instance (the workload identity)');
  }
  const certificate = common.tls_certificate_provider_instance ?? common.tls_certificate_certificate_provider_instance;
  if (certificate === undefined || certificate === null) {
    throw bad('the UpstreamTlsContext has no tls_certificate_provider_instance; meta-mesh speaks mutual TLS with the workload identity only (ISTIO_MUTUAL)');
  }
  if (common.validation_context_sds_secret_config !== undefined && common.validation_context_sds_secret_config !== null) {
    throw bad('validation_context_sds_secret_config (SDS) is not supported; use a certificate provider instance for the root CA');
  }
  const validation: CertificateValidationContextProto | undefined =
    common.combined_validation_context?.default_validation_context ?? common.validation_context ?? undefined;
  const ca =
    validation?.ca_certificate_provider_instance ??
    common.combined_validation_context?.validation_context_certificate_provider_instance ??
    common.validation_context_certificate_provider_instance;
  if (validation?.trusted_ca !== undefined && validation.trusted_ca !== null) {
    throw bad('validation_context.trusted_ca (an inline CA) is not supported; use a certificate provider instance for the root CA');
  }
  if (ca === undefined || ca === null) {
    throw bad("the UpstreamTlsContext names no root CA provider instance, so the server could not be verified; meta-mesh does not connect unverified");
  }
  const sans: string[] = [];
  for (const m of validation?.match_subject_alt_names ?? []) sans.push(exactSan(m, 'match_subject_alt_names', bad));
  for (const t of validation?.match_typed_subject_alt_names ?? []) {
    if (t.san_type !== 'URI' && t.san_type !== 'DNS') throw bad(`match_typed_subject_alt_names of type ${t.san_type ?? 'unset'} is not supported; use URI or DNS`);
    sans.push(exactSan(t.matcher ?? {}, 'match_typed_subject_alt_names', bad));
  }
  return Object.freeze({
    mode: 'ISTIO_MUTUAL' as const,
    ...(ctx.sni === undefined || ctx.sni === '' ? {} : { sni: ctx.sni }),
    ...(sans.length === 0 ? {} : { subjectAltNames: Object.freeze(sans) }),
  });
}

function exactSan(m: StringMatcherProto, field: string, bad: (why: string) => MeshError): string {
  if (typeof m.exact === 'string' && m.exact !== '' && m.ignore_case !== true) return m.exact;
  throw bad(`${field} uses a ${m.prefix !== undefined ? 'prefix' : m.suffix !== undefined ? 'suffix' : m.contains !== undefined ? 'contains' : m.safe_regex !== undefined ? 'regex' : 'case-insensitive or empty'} matcher; meta-mesh checks SANs by exact match only`);
}
