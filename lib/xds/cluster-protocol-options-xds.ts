// The idle timeout of a cluster's pooled connections over CDS, where istiod
// writes a DestinationRule's connectionPool idleTimeout (http.idleTimeout,
// else tcp.idleTimeout): typed_extension_protocol_options
// ["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]
// .common_http_protocol_options.idle_timeout. Also read: the deprecated
// Cluster.common_http_protocol_options and Envoy's TCP pool options
// ("envoy.extensions.upstreams.tcp.v3.TcpProtocolOptions".idle_timeout).
// A value of 0 (Envoy: no idle timeout) means the default, as in YAML mode.
import { MeshError, MeshErrorCode } from '../protocol';
import { durationMs, durationOf, durationProblem } from './duration-ms';
import type { ClusterProto, DurationProto } from './envoy-types';
import { xdsProtos } from './xds-protos';

export const HTTP_PROTOCOL_OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
export const TCP_PROTOCOL_OPTIONS = 'envoy.extensions.upstreams.tcp.v3.TcpProtocolOptions';
const TYPE_PREFIX = 'type.googleapis.com/';

/** The cluster's idle timeout in ms (undefined: the default). Throws MeshError CONFIG for options it cannot read. */
export function idleTimeoutFromXds(c: ClusterProto): number | undefined {
  const name = c.name ?? '';
  const typed = c.typed_extension_protocol_options ?? {};
  let idle: DurationProto | null | undefined;
  let field = '';
  const http = typed[HTTP_PROTOCOL_OPTIONS];
  if (http !== undefined && http !== null) {
    expectType(name, HTTP_PROTOCOL_OPTIONS, http.type_url);
    const options = decode(name, HTTP_PROTOCOL_OPTIONS, () => xdsProtos().httpProtocolOptions.decode(Buffer.from(http.value ?? [])));
    idle = options.common_http_protocol_options?.idle_timeout;
    field = `typed_extension_protocol_options["${HTTP_PROTOCOL_OPTIONS}"].common_http_protocol_options.idle_timeout`;
  }
  if ((idle === undefined || idle === null) && c.common_http_protocol_options?.idle_timeout !== undefined && c.common_http_protocol_options.idle_timeout !== null) {
    idle = c.common_http_protocol_options.idle_timeout;
    field = 'common_http_protocol_options.idle_timeout';
  }
  const tcp = typed[TCP_PROTOCOL_OPTIONS];
  if ((idle === undefined || idle === null) && tcp !== undefined && tcp !== null) {
    expectType(name, TCP_PROTOCOL_OPTIONS, tcp.type_url);
    idle = decode(name, TCP_PROTOCOL_OPTIONS, () => xdsProtos().tcpProtocolOptions.decode(Buffer.from(tcp.value ?? []))).idle_timeout;
    field = `typed_extension_protocol_options["${TCP_PROTOCOL_OPTIONS}"].idle_timeout`;
  }
  if (idle === undefined || idle === null) return undefined;
  const problem = durationProblem(idle, false);
  if (problem !== undefined) throw invalid(name, `${field} ${problem}`);
  const ms = durationMs(idle);
  return ms === 0 ? undefined : ms;
}

/** Writes the idle timeout where istiod writes it. */
export function idleTimeoutToXds(ms: number, out: ClusterProto): void {
  const value = xdsProtos().httpProtocolOptions.encode({ common_http_protocol_options: { idle_timeout: durationOf(ms) } });
  out.typed_extension_protocol_options = { ...(out.typed_extension_protocol_options ?? {}), [HTTP_PROTOCOL_OPTIONS]: { type_url: TYPE_PREFIX + HTTP_PROTOCOL_OPTIONS, value } };
}

function expectType(name: string, key: string, typeUrl: string | undefined): void {
  if (typeUrl !== TYPE_PREFIX + key) {
    throw invalid(name, `has typed_extension_protocol_options["${key}"] of type ${typeUrl ?? '(none)'}; it must be ${TYPE_PREFIX + key}`);
  }
}

function decode<T>(name: string, key: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw invalid(name, `has typed_extension_protocol_options["${key}"] that cannot be decoded (${(err as Error).message})`);
  }
}

function invalid(name: string, message: string): MeshError {
  return new MeshError(MeshErrorCode.CONFIG, name === '' ? `cluster ${message}` : `cluster '${name}' ${message}`);
}
