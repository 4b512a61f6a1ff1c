// Registers the real OpenTelemetry SDK (2.12.x) with in-memory exporters for
// one suite, and takes it down again: the API's globals are set-once, so
// every suite disables them before registering its own.
import { context, metrics, propagation, trace, type Attributes } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type MetricData,
} from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';

export interface OtelSdk {
  readonly spans: InMemorySpanExporter;
  /** Collects now and returns every metric by name (cumulative since registration). */
  collect(): Promise<Map<string, MetricData>>;
  shutdown(): Promise<void>;
}

export function resetOtelGlobals(): void {
  trace.disable();
  metrics.disable();
  propagation.disable();
  context.disable();
}

export function registerTracing(): { spans: InMemorySpanExporter; provider: BasicTracerProvider } {
  const spans = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
  trace.setGlobalTracerProvider(provider);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  return { spans, provider };
}

export function registerMetrics(): { collect: OtelSdk['collect']; provider: MeterProvider } {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 100_000 });
  const provider = new MeterProvider({ readers: [reader] });
  metrics.setGlobalMeterProvider(provider);
  const collect = async (): Promise<Map<string, MetricData>> => {
    exporter.reset();
    await reader.forceFlush();
    const byName = new Map<string, MetricData>();
    for (const rm of exporter.getMetrics()) for (const sm of rm.scopeMetrics) for (const m of sm.metrics) byName.set(m.descriptor.name, m);
    return byName;
  };
  return { collect, provider };
}

/** Tracing, propagation, context and metrics, all registered. */
export function registerOtelSdk(): OtelSdk {
  resetOtelGlobals();
  const tracing = registerTracing();
  const meter = registerMetrics();
  return {
    spans: tracing.spans,
    collect: meter.collect,
    async shutdown() {
      await tracing.provider.shutdown();
      await meter.provider.shutdown();
      resetOtelGlobals();
    },
  };
}

/** The data points of `metric` whose attributes include every pair of `where`. */
export function pointsWhere<T = unknown>(metric: MetricData | undefined, where: Attributes): { attributes: Attributes; value: T }[] {
  if (metric === undefined) return [];
  return (metric.dataPoints as unknown as { attributes: Attributes; value: T }[]).filter((p) => Object.entries(where).every(([k, v]) => p.attributes[k] === v));
}

export function spansNamed(exporter: InMemorySpanExporter, name: string): ReadableSpan[] {
  return exporter.getFinishedSpans().filter((s) => s.name === name);
}
