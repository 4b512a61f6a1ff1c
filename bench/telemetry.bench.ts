// Added cost per call of the telemetry filters (tracing + metrics, access
// log), measured side by side in one run against a bare handler: first with
// only @opentelemetry/api loaded (no SDK registered: the filters must step
// aside), then with the SDK registered (spans sampled and processed, metrics
// aggregated), where the bare handler is measured again because the SDK's
// async context manager slows every promise, filtered or not.
import { Writable } from 'node:stream';
import { context, metrics, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { ExportResultCode, W3CTraceContextPropagator } from '@opentelemetry/core';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, BatchSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { Metadata, type Call, type Codec, type Filter, type Handler, type Message, type Reply } from 'meta-mesh';
import { composeFilters } from 'meta-mesh/experimental';
import { createAccessLogFilter, createMetricsFilter, createTracingFilter } from '../lib/telemetry';
import { runBench } from './support/run-bench';

const metadata = new Metadata({ method: 'add' });
const request: Message = { type: 'request', requestId: 1, metadata, frame: Buffer.alloc(48), operationName: 'add' };
const reply: Reply = { message: { type: 'response', requestId: 1, metadata: new Metadata(), frame: Buffer.alloc(24), operationName: 'add', ok: true } };
const codec = { protocol: 'thrift' } as Codec;
const service = { host: 'calc.demo.svc.cluster.local', port: 9090, portName: 'tcp-metaprotocol-thrift', protocol: 'thrift', routeConfigName: 'calc.demo.svc.cluster.local_9090' };

const NEVER_ABORTED = new AbortController().signal;

function newCall(): Call {
  return {
    direction: 'outbound',
    service,
    request,
    metadata,
    mutation: new Map(),
    codec,
    codecFactory: { protocol: 'thrift', create: () => codec },
    encodeOptions: undefined,
    expectReply: true,
    startTime: performance.now(),
    timeoutMs: 1000,
    signal: NEVER_ABORTED,
  };
}

/** Plays the router: annotates the call as it would and answers at once. */
const terminal: Handler = async (call) => {
  call.routeName = 'add-to-v2';
  call.cluster = 'outbound|9090|v2|calc.demo.svc.cluster.local';
  call.upstream = '127.0.0.1:19092';
  return reply;
};

async function perCall(handler: Handler, n: number): Promise<number> {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await handler(newCall());
  return Number(process.hrtime.bigint() - t0) / n;
}

/**
 * Dispatch cost alone, without awaiting: with no SDK the filters hand the
 * terminal's own promise back, so this is all they add, free of the
 * microtask-scheduling noise of the awaited loop.
 */
function dispatchNs(handler: Handler, n: number): number {
  const call = newCall();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) void handler(call);
  return Number(process.hrtime.bigint() - t0) / n;
}

const settled = Promise.resolve(reply);
const instantTerminal: Handler = () => settled;

const discardSpans: SpanExporter = {
  export: (_spans: ReadableSpan[], done) => done({ code: ExportResultCode.SUCCESS }),
  shutdown: async () => undefined,
};

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export interface TelemetryBenchResult {
  /** ns per call, median of the rounds. */
  ns: Record<string, number>;
  /** Added ns per call over the bare handler of the same state. */
  addedNs: Record<string, number>;
  /** Per-call time relative to that bare handler. */
  ratio: Record<string, number>;
  /** No SDK: ns to dispatch one call through tracing+metrics, and through no filter (not awaited). */
  apiDispatchNs: { bare: number; filters: number };
}

export async function runTelemetryBench(options: { calls?: number; rounds?: number } = {}): Promise<TelemetryBenchResult> {
  const quick = process.env.BENCH_QUICK === '1';
  const calls = options.calls ?? (quick ? 5_000 : 40_000);
  const rounds = options.rounds ?? (quick ? 3 : 9);
  const nullStream = new Writable({ write: (_c, _e, cb) => cb() });
  const chains: Record<string, Filter[]> = {
    tracing: [createTracingFilter()],
    metrics: [createMetricsFilter()],
    'tracing+metrics': [createTracingFilter(), createMetricsFilter()],
    'tracing+metrics+istio': [createTracingFilter(), createMetricsFilter({ istio: { enabled: true } })],
    'access log (text)': [createAccessLogFilter({ format: 'text', stream: nullStream })],
    'access log (json)': [createAccessLogFilter({ format: 'json', stream: nullStream })],
  };
  const handlers = Object.fromEntries(Object.entries(chains).map(([name, filters]) => [name, composeFilters(filters, terminal)]));

  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(discardSpans, { maxQueueSize: 65_536 })] });
  const reader = new PeriodicExportingMetricReader({ exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE), exportIntervalMillis: 3_600_000 });
  const meterProvider = new MeterProvider({ readers: [reader] });
  const contextManager = new AsyncLocalStorageContextManager();
  const reset = () => {
    trace.disable();
    metrics.disable();
    propagation.disable();
    context.disable();
  };
  const register = () => {
    trace.setGlobalTracerProvider(tracerProvider);
    metrics.setGlobalMeterProvider(meterProvider);
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    context.setGlobalContextManager(contextManager.enable());
  };

  const samples: Record<string, number[]> = {};
  const sample = async (name: string, handler: Handler) => (samples[name] ??= []).push(await perCall(handler, calls));
  const phase = async (state: 'api' | 'sdk', names: readonly string[]) => {
    // Warm every path of this state before measuring.
    await perCall(terminal, calls);
    for (const name of names) await perCall(handlers[name]!, calls / 2);
    for (let r = 0; r < rounds; r++) {
      await sample(`${state}: bare`, terminal);
      for (const name of names) await sample(`${state}: ${name}`, handlers[name]!);
    }
  };
  // An application that never registers an SDK first (the filters must step aside), then one that does.
  reset();
  const dispatchBare = composeFilters([], instantTerminal);
  const dispatchFiltered = composeFilters([createTracingFilter(), createMetricsFilter()], instantTerminal);
  const dispatch = { bare: [] as number[], filters: [] as number[] };
  for (let r = 0; r < rounds + 1; r++) {
    const b = dispatchNs(dispatchBare, calls * 10);
    const f = dispatchNs(dispatchFiltered, calls * 10);
    if (r > 0) dispatch.bare.push(b), dispatch.filters.push(f);
  }
  await phase('api', ['tracing+metrics', 'tracing+metrics+istio', 'access log (text)', 'access log (json)']);
  register();
  await phase('sdk', ['tracing', 'metrics', 'tracing+metrics', 'tracing+metrics+istio']);
  reset();
  await tracerProvider.shutdown();
  await meterProvider.shutdown();
  contextManager.disable();

  const ns: Record<string, number> = {};
  const addedNs: Record<string, number> = {};
  const ratio: Record<string, number> = {};
  for (const [name, values] of Object.entries(samples)) ns[name] = Math.round(median(values));
  for (const name of Object.keys(ns)) {
    const bare = ns[`${name.split(':')[0]}: bare`]!;
    addedNs[name] = ns[name]! - bare;
    ratio[name] = Number((ns[name]! / bare).toFixed(2));
  }
  return { ns, addedNs, ratio, apiDispatchNs: { bare: Number(median(dispatch.bare).toFixed(1)), filters: Number(median(dispatch.filters).toFixed(1)) } };
}

runBench(module, runTelemetryBench, {
  report: (r) => {
    console.log('per call (median of rounds)            ns   added ns   × bare');
    for (const name of Object.keys(r.ns)) {
      console.log(`  ${name.padEnd(34)} ${String(r.ns[name]).padStart(6)} ${String(r.addedNs[name]).padStart(9)} ${r.ratio[name]!.toFixed(2).padStart(8)}`);
    }
    const d = r.apiDispatchNs;
    console.log(`no SDK, dispatch only (not awaited): bare ${d.bare} ns, tracing+metrics ${d.filters} ns, added ${(d.filters - d.bare).toFixed(1)} ns`);
  },
});
