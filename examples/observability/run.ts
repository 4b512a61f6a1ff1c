// The observability example: the thrift-canary servers and client with
// meta-mesh's tracing, metrics and access-log filters, the OpenTelemetry SDK
// registered with in-memory exporters, and a summary of what they captured.
// Run with `node dist/examples/observability/run.js`; it exits by itself.
import * as path from 'node:path';
import * as thrift from 'thrift';
import { context, metrics, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type MetricData } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { createAccessLogFilter, createMetricsFilter, createTracingFilter, Mesh } from 'meta-mesh';
import { createThriftConnection } from 'meta-mesh/thrift';
import * as Calculator from '../../gen/calculator/js/Calculator';
import { startCalculatorServer } from '../thrift-canary/servers';

const HOST = 'calculator.demo.svc.cluster.local';
const ADMIN = 'calculator-admin.demo.svc.cluster.local';

async function main(): Promise<void> {
  // 1. The application registers the SDK; meta-mesh itself only uses @opentelemetry/api.
  const spans = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
  trace.setGlobalTracerProvider(tracerProvider);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 60_000 });
  const meterProvider = new MeterProvider({ readers: [reader] });
  metrics.setGlobalMeterProvider(meterProvider);

  // 2. One mesh for the servers and the client, with the telemetry filters in front of both chains.
  const node = { NAMESPACE: 'demo', WORKLOAD_NAME: 'calculator-client', LABELS: { app: 'calculator-client', version: 'v1' } };
  const tracing = createTracingFilter();
  const meter = createMetricsFilter({ istio: { enabled: true, nodeMetadata: node } });
  // The servers report as the calculator workload (reporter=destination).
  const serverMeter = createMetricsFilter({ istio: { enabled: true, inboundService: HOST, nodeMetadata: { NAMESPACE: 'demo', WORKLOAD_NAME: 'calculator', LABELS: { app: 'calculator' } } } });
  const accessLog = createAccessLogFilter({ format: 'text', stream: process.stdout });
  const examples = path.resolve(__dirname, '../../../examples');
  const mesh = await Mesh.start({
    config: [path.join(examples, 'thrift-canary/mesh.yaml'), path.join(examples, 'observability/admin.yaml')],
    filters: { outbound: [tracing, meter, accessLog], inbound: [tracing, serverMeter] },
  });
  await startCalculatorServer(mesh, 'v1', 19091);
  await startCalculatorServer(mesh, 'v2', 19092);

  // THeader upstream framing: the traceparent travels to the server as a header.
  const client = thrift.createClient(Calculator, createThriftConnection(mesh, HOST, 9090, { upstreamTransport: 'header' }));
  const admin = thrift.createClient(Calculator, createThriftConnection(mesh, ADMIN, 9090, { upstreamTransport: 'header' }));

  console.log('access log (outbound calls, Aeraki TEXT format):');
  await trace.getTracer('observability-example').startActiveSpan('checkout', async (span) => {
    await client.add(2, 3);
    await client.subtract(10, 4);
    for (let i = 0; i < 4; i++) await client.version();
    await client.divide(1, 0).catch(() => undefined);
    await admin.add(1, 1).catch(() => undefined); // no route: only version() may reach the admin service
    span.end();
  });

  // 3. What the SDK captured.
  console.log('\nspans, by trace (CLIENT spans from the caller, SERVER spans from the servers):');
  printSpans(spans.getFinishedSpans());
  await reader.forceFlush();
  console.log('\nmetrics:');
  printMetrics(metricExporter.getMetrics().flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics)));

  await mesh.close();
  await tracerProvider.shutdown();
  await meterProvider.shutdown();
}

function printSpans(all: readonly ReadableSpan[]): void {
  const byId = new Map(all.map((s) => [s.spanContext().spanId, s]));
  const depth = (s: ReadableSpan): number => {
    const parent = s.parentSpanContext === undefined ? undefined : byId.get(s.parentSpanContext.spanId);
    return parent === undefined ? 0 : depth(parent) + 1;
  };
  const kinds = ['INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'];
  const ordered = [...all].sort((a, b) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1]);
  for (const s of ordered) {
    const a = s.attributes;
    const facts = [
      a['rpc.system.name'],
      a['meta_mesh.cluster'] ?? (a['server.port'] === undefined ? undefined : `port ${a['server.port']}`),
      a['network.peer.address'] === undefined ? undefined : `peer ${a['network.peer.address']}:${a['network.peer.port']}`,
      a['error.type'] === undefined ? undefined : `error.type=${a['error.type']}`,
    ].filter((x) => x !== undefined);
    console.log(`  ${s.spanContext().traceId.slice(0, 8)} ${'  '.repeat(depth(s))}${kinds[s.kind]!.padEnd(6)} ${s.name.padEnd(10)} ${facts.join('  ')}`);
  }
}

function printMetrics(all: readonly MetricData[]): void {
  for (const m of all) {
    console.log(`  ${m.descriptor.name}${m.descriptor.unit ? ` (${m.descriptor.unit})` : ''}`);
    for (const p of m.dataPoints as { attributes: Record<string, unknown>; value: number | { count: number; sum: number } }[]) {
      const a = p.attributes;
      const labels =
        'reporter' in a
          ? `reporter=${a['reporter']} destination=${a['destination_service_name']}/${a['destination_version']} response_code=${a['response_code']}`
          : Object.entries(a)
              .filter(([k]) => k !== 'rpc.system.name' && !(k === 'server.port' && 'server.address' in a))
              .map(([k, v]) => `${k}=${v}`)
              .join(' ');
      const value = typeof p.value === 'number' ? `${p.value}` : `count=${p.value.count} sum=${p.value.sum.toFixed(4)}`;
      console.log(`    ${value.padEnd(24)} ${labels}`);
    }
  }
}

main().catch((err: unknown) => {
  console.error(err);
  // Servers and meshes started before the failure would keep the process alive: end it.
  process.exit(1);
});
