// Observability: OpenTelemetry tracing and metrics filters, Istio-named
// metrics, and access logs. Only @opentelemetry/api is used; the application
// registers whichever SDK and exporters it likes.
export { createTracingFilter } from './tracing-filter';
export type { SamplingSource } from './tracing-filter';
export { TraceSampler, traceReasonOf } from './trace-sampler';
export type { TraceDecision, TraceReason } from './trace-sampler';
export { createMetricsFilter } from './metrics-filter';
export { createAccessLogFilter } from './access-log-filter';
export type { AccessLogFilter, AccessLogStats } from './access-log-filter';
export type { AccessLogEntry } from './access-log-entry';
export { formatAccessLogJson, formatAccessLogText } from './access-log-format';
export { AERAKI_JSON_FORMAT, AERAKI_TEXT_FORMAT, compileJsonFormat, compileTextFormat } from './access-log-format-string';
export type { AccessLogEncoding } from './access-log-format-string';
export { createTelemetryFilters } from './telemetry-filters';
export type { TelemetryContext, TelemetryFilters } from './telemetry-filters';
export { createMetadataExchangeFilter, peerOf } from './metadata-exchange-filter';
export type { MetadataExchangeOptions } from './metadata-exchange-filter';
export { decodePeerMetadata, encodePeerMetadata, PEER_METADATA_ID_KEY, PEER_METADATA_KEY } from './peer-metadata';
export type { PeerWorkload, WorkloadMetadata } from './peer-metadata';
export { workloadMetadata, ISTIO_POD_LABELS_FILE } from './workload-metadata';
export { responseFlagsOf } from './response-flags';
export { MeshMetrics } from './mesh-metrics';
export { MeterInstruments, RPC_DURATION_BUCKETS, ISTIO_DURATION_BUCKETS, ISTIO_BYTES_BUCKETS, RPC_SIZE_BUCKETS } from './meter-instruments';
export { FORWARDED_TRACE_KEYS, metadataGetter, mutationSetter } from './metadata-carrier';
export { DEFAULT_SYSTEM_NAMES, RPC_STATUS_METADATA_KEY, rpcMethod } from './rpc-attributes';
export { INSTRUMENTATION_NAME, INSTRUMENTATION_VERSION } from './instrumentation-scope';
export type {
  AccessLogOptions,
  AccessLogStream,
  IstioOptions,
  MetricsOptions,
  NodeMetadata,
  TelemetryOptions,
  TracingOptions,
} from './telemetry-options';
