// createTelemetryFilters: the Mesh's `telemetry` option turned into filters
// for the front of the outbound and inbound chains (tracing outermost, so its
// span covers everything the other filters and the router do), plus the
// MeshMetrics the engine reports its own events to.
import type { Filter } from '../filters/call';
import { createAccessLogFilter } from './access-log-filter';
import { MeshMetrics } from './mesh-metrics';
import { createMetricsFilter } from './metrics-filter';
import type { TelemetryOptions } from './telemetry-options';
import { createTracingFilter, type SamplingSource } from './tracing-filter';
import { createMetadataExchangeFilter } from './metadata-exchange-filter';
import { workloadMetadata } from './workload-metadata';

export interface TelemetryContext {
  /** The route config's tracing sampling for a call (listener config over xDS), overriding the options'. */
  readonly samplingOf?: SamplingSource;
  /** This process's xDS node id, sent as x-envoy-peer-metadata-id. */
  readonly nodeId?: string;
}

export interface TelemetryFilters {
  /** Put these first in the outbound chain, in this order. */
  readonly outbound: readonly Filter[];
  /** Put these first in the inbound chain, in this order. */
  readonly inbound: readonly Filter[];
  /** Engine events (ejections, retries, mirrors); records nothing while metrics are off. */
  readonly metrics: MeshMetrics;
}

export function createTelemetryFilters(options: TelemetryOptions = {}, context: TelemetryContext = {}): TelemetryFilters {
  const filters: Filter[] = [];
  if (options.tracing !== undefined && options.tracing !== false) filters.push(createTracingFilter(options.tracing === true ? {} : options.tracing, context.samplingOf));
  const metrics = options.metrics === undefined || options.metrics === false ? undefined : options.metrics === true ? {} : options.metrics;
  if (metrics !== undefined) filters.push(createMetricsFilter(metrics));
  if (options.accessLog !== undefined) filters.push(createAccessLogFilter(options.accessLog));
  // Innermost of the telemetry filters: the metrics filter reads the peer it found once the reply is back.
  const istio = metrics?.istio;
  if (istio?.enabled === true && istio.metadataExchange !== false) {
    const metadata = workloadMetadata(istio.nodeMetadata);
    filters.push(createMetadataExchangeFilter({ metadata, nodeId: context.nodeId ?? '' }));
  }
  // One instance of each filter serves both directions: each reads call.direction.
  return { outbound: filters, inbound: filters, metrics: new MeshMetrics() };
}
