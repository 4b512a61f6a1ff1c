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
  forwardKeys?: readonly string[];
  /** rpc.system.name per codec protocol, on top of the defaults (thrift → apache_thrift, dubbo → dubbo). */
  systemNames?: Readonly<Record<string, string>>;
  /** Source of randomness in [0, 1) for sampling without an x-request-id (default Math.random); for tests. */
  random?: () => number;
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
  nodeMetadata?: NodeMetadata;
  /**
   * Exchange workload metadata with peers (Istio's x-envoy-peer-metadata in THeader headers and
   * Dubbo attachments), so both sides label metrics with the other's workload (default true).
   * Telemetry only: what a peer sends is never used to authorize it.
   */
  metadataExchange?: boolean;
  /**
   * destination_service of inbound calls (Aeraki sets it to the service's
   * host); default: the service name the server adapter reports.
   */
  inboundService?: string;
  /**
   * source_principal of outbound calls: this workload's SPIFFE id (default: the mesh's workload identity,
   * `mesh.identity`). Inbound calls report the caller's verified principal.
   */
  principal?: string;
}

export interface MetricsOptions {
  /** rpc.system.name per codec protocol, on top of the defaults. */
  systemNames?: Readonly<Record<string, string>>;
  /** Istio's standard metric names and labels, beside the OpenTelemetry ones. */
  istio?: IstioOptions;
  /** Clock that call.startTime was read from (default performance.now). */
  now?: MonotonicClock;
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
  format?: 'text' | 'json' | ((entry: AccessLogEntry) => string);
  /**
   * Istio MeshConfig `accessLogFormat`: an Envoy format string with command operators
   * (`%START_TIME%`, `%REQ(X-REQUEST-ID)%`, `%RESPONSE_CODE%`, `%UPSTREAM_HOST%`, `%DURATION%`,
   * `%RESPONSE_FLAGS%`, ...); with accessLogEncoding JSON, a JSON object of key → format string.
   */
  accessLogFormat?: string | Readonly<Record<string, unknown>>;
  /** Istio MeshConfig `accessLogEncoding`: TEXT (default) or JSON. */
  accessLogEncoding?: 'TEXT' | 'JSON';
  /**
   * Istio MeshConfig `accessLogFile`: `/dev/stdout`, `/dev/stderr` or a file path (appended to).
   * Use this or `stream`.
   */
  accessLogFile?: string;
  /** Where lines go, one per call, each ending in a newline. */
  stream?: AccessLogStream;
  /** Drop lines (and count them) while the stream holds more than this many bytes (default 1 MiB). */
  maxBufferedBytes?: number;
  /** Told once when the stream fails; logging then stops (default console.warn). */
  onError?: (err: Error) => void;
  /** Clock that call.startTime was read from (default performance.now). */
  now?: MonotonicClock;
  /** Epoch ms at which `now()` read 0 (default performance.timeOrigin). */
  timeOrigin?: number;
}

/** Everything telemetry, as one Mesh option. Each part is off unless given. */
export interface TelemetryOptions {
  tracing?: TracingOptions | boolean;
  metrics?: MetricsOptions | boolean;
  accessLog?: AccessLogOptions;
}
