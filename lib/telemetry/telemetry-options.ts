// Options of the telemetry filters: tracing, metrics (OpenTelemetry and
// Istio's standard names) and access logs. All are optional; a Mesh built
// without them pays nothing.
import type { TracingSampling } from '../config/model';
import type { MonotonicClock } from '../protocol/clock';
import type { AccessLogEntry } from './access-log-entry';
import type { WorkloadMetadata } from './peer-metadata';

export interface TracingOptions extends TracingSampling {
  /**
   * Metadata keys copied into the outbound request's mutation when present,
   * so ids the caller received travel on (default: the reference's list,
   * x-request-id, x-b3-*, x-ot-span-context, ...; see FORWARDED_TRACE_KEYS).
   */
  forwardKeys?: readonly string[] | undefined;
  /** rpc.system.name per codec protocol, on top of the defaults (thrift → apache_thrift, dubbo → dubbo). */
  systemNames?: Readonly<Record<string, string>> | undefined;
  /** Source of randomness in [0, 1) for sampling without an x-request-id (default Math.random); for tests. */
  random?: (() => number) | undefined;
}

/**
 * Istio's node metadata (the FlatNode fields Istio's stats use). Source labels
 * of outbound calls and destination labels of inbound calls come from here,
 * and it is what the metadata exchange sends peers.
 */
export type NodeMetadata = WorkloadMetadata;

export interface IstioOptions {
  /** Also emit istio_requests_total and istio_request_duration_milliseconds. */
  enabled: boolean;
  /**
   * This workload's node metadata. Keys not given are read from the environment Istio injects
   * (POD_NAME, POD_NAMESPACE, INSTANCE_IP, ISTIO_META_*, ISTIO_METAJSON_LABELS, /etc/istio/pod/labels);
   * what is still missing is labelled "unknown".
   */
  nodeMetadata?: NodeMetadata | undefined;
  /**
   * Exchange workload metadata with peers (Istio's x-envoy-peer-metadata in THeader headers and
   * Dubbo attachments), so both sides label metrics with the other's workload (default true).
   * Telemetry only: what a peer sends is never used to authorize it.
   */
  metadataExchange?: boolean | undefined;
  /**
   * destination_service of inbound calls (Aeraki sets it to the service's
   * host); default: the service name the server adapter reports.
   */
  inboundService?: string | undefined;
  /**
   * source_principal of outbound calls: this workload's SPIFFE id (default: the mesh's workload identity,
   * `mesh.identity`). Inbound calls report the caller's verified principal.
   */
  principal?: string | undefined;
}

export interface MetricsOptions {
  /** rpc.system.name per codec protocol, on top of the defaults. */
  systemNames?: Readonly<Record<string, string>> | undefined;
  /** Istio's standard metric names and labels, beside the OpenTelemetry ones. */
  istio?: IstioOptions | undefined;
  /** Clock that call.startTime was read from (default performance.now). */
  now?: MonotonicClock | undefined;
}

/** Anything with a write(string) method: a file stream, process.stdout, a socket. */
export interface AccessLogStream {
  write(chunk: string): unknown;
  /** Bytes queued and not yet flushed; lines are dropped past `maxBufferedBytes`. */
  readonly writableLength?: number;
  on?(event: 'error', listener: (err: Error) => void): unknown;
}

export interface AccessLogOptions {
  /**
   * 'text' (Aeraki's default TEXT format), 'json' (its JSON keys), or your own line formatter.
   * Default 'text', or 'json' with accessLogEncoding JSON. Not together with accessLogFormat.
   */
  format?: 'text' | 'json' | ((entry: AccessLogEntry) => string) | undefined;
  /**
   * Istio MeshConfig `accessLogFormat`: an Envoy format string with command operators
   * (`%START_TIME%`, `%REQ(X-REQUEST-ID)%`, `%RESPONSE_CODE%`, `%UPSTREAM_HOST%`, `%DURATION%`,
   * `%RESPONSE_FLAGS%`, ...); with accessLogEncoding JSON, a JSON object of key → format string.
   */
  accessLogFormat?: string | Readonly<Record<string, unknown>> | undefined;
  /** Istio MeshConfig `accessLogEncoding`: TEXT (default) or JSON. */
  accessLogEncoding?: 'TEXT' | 'JSON' | undefined;
  /**
   * Istio MeshConfig `accessLogFile`: `/dev/stdout`, `/dev/stderr` or a file path (appended to).
   * Use this or `stream`.
   */
  accessLogFile?: string | undefined;
  /** Where lines go, one per call, each ending in a newline. */
  stream?: AccessLogStream | undefined;
  /** Drop lines (and count them) while the stream holds more than this many bytes (default 1 MiB). */
  maxBufferedBytes?: number | undefined;
  /** Told once when the stream fails; logging then stops (default console.warn). */
  onError?: ((err: Error) => void) | undefined;
  /** Clock that call.startTime was read from (default performance.now). */
  now?: MonotonicClock | undefined;
  /** Epoch ms at which `now()` read 0 (default performance.timeOrigin). */
  timeOrigin?: number | undefined;
}

/** Everything telemetry, as one Mesh option. Each part is off unless given. */
export interface TelemetryOptions {
  tracing?: TracingOptions | boolean | undefined;
  metrics?: MetricsOptions | boolean | undefined;
  accessLog?: AccessLogOptions | undefined;
}
