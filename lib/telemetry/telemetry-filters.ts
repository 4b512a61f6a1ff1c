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

export interface TelemetryFilters {
  /** Put these first in the outbound chain, in this order. */
  readonly outbound: readonly Filter[];
  /** Put these first in the inbound chain, in this order. */
  readonly inbound: readonly Filter[];
  /** Engine events (ejections, retries, mirrors); records nothing while metrics are off. */
  readonly metrics: MeshMetrics;
}

/** @param samplingOf the route config's tracing sampling for a call (listener config over xDS), overriding the options'. */
export function createTelemetryFilters(options: TelemetryOptions = {}, samplingOf?: SamplingSource): TelemetryFilters {
  const filters: Filter[] = [];
  if (options.tracing !== undefined && options.tracing !== false) filters.push(createTracingFilter(options.tracing === true ? {} : options.tracing, samplingOf));
  const metricsOn = options.metrics !== undefined && options.metrics !== false;
  if (metricsOn) filters.push(createMetricsFilter(options.metrics === true ? {} : (options.metrics as Exclude<TelemetryOptions['metrics'], boolean | undefined>)));
  if (options.accessLog !== undefined) filters.push(createAccessLogFilter(options.accessLog));
  // One instance of each filter serves both directions: each reads call.direction.
  return { outbound: filters, inbound: filters, metrics: new MeshMetrics() };
}
