// The tracing filter: one CLIENT span per outbound call and one SERVER span
// per inbound call, named and tagged per the OpenTelemetry RPC conventions.
// Outbound it injects W3C trace context (and forwards the reference's tracing
// keys) into the call's mutation, which the codec writes as THeader headers
// or Dubbo attachments; inbound it continues the trace found in the metadata.
import { randomBytes, randomUUID } from 'node:crypto';
import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  TraceFlags,
  type Attributes,
  type Context,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import type { TracingSampling } from '../config/model';
import type { Call, Filter, Handler, Reply } from '../filters/call';
import { settleThrow } from './settle-throw';
import { FORWARDED_TRACE_KEYS, forwardKeys, metadataGetter, mutationSetter } from './metadata-carrier';
import { errorTypeOf, rpcMethod, splitEndpoint, statusCodeOf, systemNameResolver } from './rpc-attributes';
import type { TracingOptions } from './telemetry-options';
import { TracerSource } from './tracer-source';
import { b3SampledOf, TraceSampler } from './trace-sampler';

/** Per-call sampling config from outside the filter (the route config's listener settings), if any. */
export type SamplingSource = (call: Call) => TracingSampling | undefined;

/**
 * A Call as a retry feature will extend it. The span covers all tries of the
 * logical call (semconv); the retry code reports the count here and may add
 * per-try events or child spans to `trace.getActiveSpan()`, which is this
 * call's span while the rest of the chain runs (with a context manager set).
 */
interface CallWithTries extends Call {
  tryCount?: number;
}

export function createTracingFilter(options: TracingOptions = {}, samplingOf?: SamplingSource): Filter {
  const source = new TracerSource();
  const systemName = systemNameResolver(options.systemNames);
  const forwarded = options.forwardKeys ?? FORWARDED_TRACE_KEYS;
  const random = options.random ?? Math.random;
  const hasDefaults = options.client_sampling !== undefined || options.random_sampling !== undefined || options.overall_sampling !== undefined;
  // Validated now: a bad percentage fails Mesh.start, not the first call.
  const defaultSampler = hasDefaults ? new TraceSampler(options, random) : undefined;
  const samplers = new WeakMap<TracingSampling, TraceSampler>();

  /** The sampler for a call: its route config's, else the options', else none (every call traced, as before). */
  const samplerFor = (call: Call): TraceSampler | undefined => {
    const configured = samplingOf?.(call);
    if (configured === undefined) return defaultSampler;
    let sampler = samplers.get(configured);
    if (sampler === undefined) {
      // Fields the listener leaves unset fall back to the Mesh options, then to 100%.
      sampler = new TraceSampler({ ...pickSampling(options), ...pickSampling(configured) }, random);
      samplers.set(configured, sampler);
    }
    return sampler;
  };

  /** False when the sampler says no: the caller's context travels on unsampled and no span is made. */
  const sampled = (call: Call, parent: Context, fromWire: boolean): boolean => {
    const sampler = samplerFor(call);
    if (sampler === undefined) return true;
    const parentContext = trace.getSpanContext(parent);
    let parentFlag = parentContext !== undefined && trace.isSpanContextValid(parentContext) ? (parentContext.traceFlags & TraceFlags.SAMPLED) !== 0 : undefined;
    if (parentFlag === undefined && fromWire) parentFlag = b3SampledOf(call.metadata);
    // Like Envoy's connection manager, give the call its x-request-id before deciding, so the decision is keyed by it and travels in it.
    if (call.direction === 'outbound' && parentFlag === undefined && call.metadata.get('x-request-id') === undefined) call.metadata.set('x-request-id', randomUUID());
    const decision = sampler.decide(call.metadata, parentFlag);
    if (decision.requestId !== undefined) {
      call.metadata.set('x-request-id', decision.requestId);
      if (call.direction === 'outbound') call.mutation.set('x-request-id', decision.requestId);
    }
    return decision.sampled;
  };

  const traceClient = (tracer: Tracer, call: Call, next: Handler): Promise<Reply | undefined> => {
    const method = rpcMethod(call);
    const attributes: Attributes = {
      'rpc.system.name': systemName(call.codec.protocol),
      'rpc.method': method,
      'server.address': call.service.host,
      'server.port': call.service.port,
    };
    const requestId = call.metadata.get('x-request-id');
    if (requestId !== undefined) attributes['meta_mesh.request_id'] = requestId;
    const parent = context.active();
    if (!sampled(call, parent, false)) return unsampledClient(call, parent, next, forwarded);
    const span = tracer.startSpan(method, { kind: SpanKind.CLIENT, attributes }, parent);
    const active = trace.setSpan(parent, span);
    forwardKeys(forwarded, call.metadata, call.mutation);
    // After forwarding, so our own traceparent replaces a stale forwarded one.
    propagation.inject(active, call.mutation, mutationSetter);
    return finishWith(span, call, context.with(active, settleThrow, undefined, next, call));
  };

  const traceServer = (tracer: Tracer, call: Call, next: Handler): Promise<Reply | undefined> => {
    const method = rpcMethod(call);
    const attributes: Attributes = {
      'rpc.system.name': systemName(call.codec.protocol),
      'rpc.method': method,
    };
    if (call.service.port > 0) attributes['server.port'] = call.service.port;
    const requestId = call.metadata.get('x-request-id');
    if (requestId !== undefined) attributes['meta_mesh.request_id'] = requestId;
    // Only what came over the wire parents a server span, never the ambient context of the socket.
    const parent = propagation.extract(ROOT_CONTEXT, call.metadata, metadataGetter);
    if (!sampled(call, parent, true)) return context.with(unsampledContext(parent), settleThrow, undefined, next, call);
    const span = tracer.startSpan(method, { kind: SpanKind.SERVER, attributes }, parent);
    return finishWith(span, call, context.with(trace.setSpan(parent, span), settleThrow, undefined, next, call));
  };

  return (next) => (call) => {
    const tracer = source.current();
    if (tracer === undefined) return next(call);
    return call.direction === 'outbound' ? traceClient(tracer, call, next) : traceServer(tracer, call, next);
  };
}

function pickSampling(s: TracingSampling): TracingSampling {
  const out: { -readonly [K in keyof TracingSampling]: TracingSampling[K] } = {};
  if (s.client_sampling !== undefined) out.client_sampling = s.client_sampling;
  if (s.random_sampling !== undefined) out.random_sampling = s.random_sampling;
  if (s.overall_sampling !== undefined) out.overall_sampling = s.overall_sampling;
  return out;
}

/**
 * The context of a call that is not traced: the caller's trace with its
 * sampled flag off, or a fresh unsampled trace, so the next hop sees the
 * decision and does not start tracing by itself.
 */
function unsampledContext(parent: Context): Context {
  const p = trace.getSpanContext(parent);
  const traceId = p !== undefined && trace.isSpanContextValid(p) ? p.traceId : randomBytes(16).toString('hex');
  return trace.setSpanContext(parent, { traceId, spanId: randomBytes(8).toString('hex'), traceFlags: TraceFlags.NONE });
}

function unsampledClient(call: Call, parent: Context, next: Handler, forwarded: readonly string[]): Promise<Reply | undefined> {
  const active = unsampledContext(parent);
  forwardKeys(forwarded, call.metadata, call.mutation);
  propagation.inject(active, call.mutation, mutationSetter);
  return context.with(active, settleThrow, undefined, next, call);
}


function finishWith(span: Span, call: Call, pending: Promise<Reply | undefined>): Promise<Reply | undefined> {
  return pending.then(
    (reply) => {
      endSpan(span, call, reply, undefined);
      return reply;
    },
    (err: unknown) => {
      endSpan(span, call, undefined, err);
      throw err;
    },
  );
}

function endSpan(span: Span, call: Call, reply: Reply | undefined, error: unknown): void {
  if (span.isRecording()) {
    if (call.routeName !== undefined) span.setAttribute('meta_mesh.route', call.routeName);
    if (call.cluster !== undefined) span.setAttribute('meta_mesh.cluster', call.cluster);
    if (call.upstream !== undefined) {
      const peer = splitEndpoint(call.upstream);
      span.setAttribute('network.peer.address', peer.address);
      if (peer.port !== undefined) span.setAttribute('network.peer.port', peer.port);
    }
    const tries = (call as CallWithTries).tryCount;
    if (tries !== undefined && tries > 1) span.setAttribute('meta_mesh.try_count', tries);
    span.setAttribute('rpc.status_code', statusCodeOf(reply, error));
    const errorType = errorTypeOf(reply, error);
    if (errorType !== undefined) {
      span.setAttribute('error.type', errorType);
      span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : errorType });
    }
  }
  span.end();
}
