import { strict as assert } from 'node:assert';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { MeshError, MeshErrorCode } from 'meta-mesh';
import { createTracingFilter, FORWARDED_TRACE_KEYS } from '../../lib/telemetry';
import { registerTracing, resetOtelGlobals } from './otel-sdk';
import { chain, testCall, testReply } from './test-call';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_ID = '00f067aa0ba902b7';

describe('tracing filter', () => {
  afterEach(() => resetOtelGlobals());

  it('passes calls through untouched while no SDK is registered', async () => {
    resetOtelGlobals();
    const handler = chain([createTracingFilter()]);
    const call = testCall({ metadata: { method: 'add', 'x-request-id': 'r-1' } });
    const reply = await handler(call);
    assert.equal(reply?.message.ok, true);
    assert.equal(call.mutation.size, 0, 'nothing injected or forwarded');
  });

  it('starts tracing when an SDK registers after the filter was created', async () => {
    resetOtelGlobals();
    const handler = chain([createTracingFilter()]);
    await handler(testCall());
    const { spans, provider } = registerTracing();
    await handler(testCall());
    assert.equal(spans.getFinishedSpans().length, 1);
    await provider.shutdown();
  });

  it('follows a new SDK after the globals are disabled and registered again', async () => {
    const handler = chain([createTracingFilter()]);
    const first = registerTracing();
    await handler(testCall());
    resetOtelGlobals();
    const second = registerTracing();
    await handler(testCall());
    assert.equal(first.spans.getFinishedSpans().length, 1);
    assert.equal(second.spans.getFinishedSpans().length, 1);
    await first.provider.shutdown();
    await second.provider.shutdown();
  });

  it('names Dubbo spans interface/method with rpc.system.name dubbo and the status the codec reports', async () => {
    const { spans, provider } = registerTracing();
    const handler = chain([createTracingFilter()], async () => testReply({ ok: false, metadata: { 'rpc.status_code': 'SERVICE_ERROR' } }));
    const call = testCall({
      protocol: 'dubbo',
      metadata: { interface: 'org.apache.dubbo.demo.DemoService', method: 'sayHello', version: '1.0.0' },
      operationName: 'org.apache.dubbo.demo.DemoService/sayHello',
      host: 'demo.dubbo.svc',
      port: 20880,
    });
    await handler(call);
    const [span] = spans.getFinishedSpans();
    assert.equal(span!.name, 'org.apache.dubbo.demo.DemoService/sayHello');
    assert.equal(span!.kind, SpanKind.CLIENT);
    assert.equal(span!.attributes['rpc.system.name'], 'dubbo');
    assert.equal(span!.attributes['rpc.method'], 'org.apache.dubbo.demo.DemoService/sayHello');
    assert.equal(span!.attributes['server.address'], 'demo.dubbo.svc');
    assert.equal(span!.attributes['server.port'], 20880);
    assert.equal(span!.attributes['rpc.status_code'], 'SERVICE_ERROR');
    assert.equal(span!.attributes['error.type'], 'SERVICE_ERROR');
    assert.equal(span!.attributes['meta_mesh.cluster'], 'outbound|20880|v2|demo.dubbo.svc');
    assert.equal(span!.attributes['network.peer.address'], '10.0.0.7');
    assert.equal(span!.attributes['network.peer.port'], 19092);
    assert.match(call.mutation.get('traceparent')!, new RegExp(`^00-${span!.spanContext().traceId}-${span!.spanContext().spanId}-01$`));
    await provider.shutdown();
  });

  it('builds Service/method from metadata when the codec named the operation differently', async () => {
    const { spans, provider } = registerTracing();
    await chain([createTracingFilter()])(testCall({ metadata: { service: 'Calc', method: 'add' }, operationName: 'Calc:add' }));
    assert.equal(spans.getFinishedSpans()[0]!.attributes['rpc.method'], 'Calc/add');
    await provider.shutdown();
  });

  it('forwards the reference tracing keys and replaces a stale traceparent with its own', async () => {
    const { spans, provider } = registerTracing();
    const call = testCall({
      metadata: {
        method: 'add',
        'x-request-id': 'req-7',
        'x-b3-traceid': 'b3trace',
        'x-b3-sampled': '1',
        traceparent: `00-${TRACE_ID}-${PARENT_ID}-01`,
        'x-unrelated': 'stays',
      },
    });
    call.mutation.set('x-b3-sampled', '0');
    await chain([createTracingFilter()])(call);
    const span = spans.getFinishedSpans()[0]!;
    assert.equal(call.mutation.get('x-request-id'), 'req-7');
    assert.equal(call.mutation.get('x-b3-traceid'), 'b3trace');
    assert.equal(call.mutation.get('x-b3-sampled'), '0', 'a value the mutation already has wins');
    assert.equal(call.mutation.has('x-unrelated'), false);
    assert.equal(call.mutation.get('traceparent'), `00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`);
    assert.equal(span.attributes['meta_mesh.request_id'], 'req-7');
    assert.ok(FORWARDED_TRACE_KEYS.includes('x-ot-span-context'));
    await provider.shutdown();
  });

  it('continues the trace found in inbound metadata as a SERVER span, active in the handler', async () => {
    const { spans, provider } = registerTracing();
    let activeInHandler: string | undefined;
    const handler = chain([createTracingFilter()], async () => {
      activeInHandler = trace.getActiveSpan()?.spanContext().spanId;
      return testReply();
    });
    await handler(
      testCall({ direction: 'inbound', port: 19091, metadata: { method: 'add', traceparent: `00-${TRACE_ID}-${PARENT_ID}-01`, tracestate: 'vendor=1' } }),
    );
    const span = spans.getFinishedSpans()[0]!;
    assert.equal(span.kind, SpanKind.SERVER);
    assert.equal(span.spanContext().traceId, TRACE_ID);
    assert.equal(span.parentSpanContext?.spanId, PARENT_ID);
    assert.equal(span.parentSpanContext?.isRemote, true);
    assert.equal(span.spanContext().traceState?.get('vendor'), '1');
    assert.equal(span.attributes['server.port'], 19091);
    assert.equal(activeInHandler, span.spanContext().spanId);
    await provider.shutdown();
  });

  it('starts a new trace for an inbound call that carries none', async () => {
    const { spans, provider } = registerTracing();
    await trace.getTracer('app').startActiveSpan('ambient', async (ambient) => {
      await chain([createTracingFilter()])(testCall({ direction: 'inbound' }));
      ambient.end();
    });
    const server = spans.getFinishedSpans().find((s) => s.kind === SpanKind.SERVER)!;
    assert.equal(server.parentSpanContext, undefined, 'a server span is parented only by what came over the wire');
    await provider.shutdown();
  });

  it('records a local reply and a synchronous throw as errors and rethrows them', async () => {
    const { spans, provider } = registerTracing();
    const overLimit = chain([createTracingFilter()], async () => {
      throw new MeshError(MeshErrorCode.OVER_LIMIT, 'rate limit of 10/s reached');
    });
    await assert.rejects(overLimit(testCall()), { code: 'OVER_LIMIT' });
    const throwing = chain([createTracingFilter(), () => () => { throw new TypeError('filter bug'); }]);
    await assert.rejects(throwing(testCall()), TypeError);
    const [limited, broken] = spans.getFinishedSpans();
    assert.equal(limited!.attributes['error.type'], 'OVER_LIMIT');
    assert.equal(limited!.status.code, SpanStatusCode.ERROR);
    assert.equal(limited!.status.message, 'rate limit of 10/s reached');
    assert.equal(broken!.attributes['error.type'], 'TypeError');
    await provider.shutdown();
  });

  it('reports the try count a retry feature leaves on the call', async () => {
    const { spans, provider } = registerTracing();
    await chain([createTracingFilter()], async (call) => {
      (call as { tryCount?: number }).tryCount = 3;
      return testReply();
    })(testCall());
    assert.equal(spans.getFinishedSpans()[0]!.attributes['meta_mesh.try_count'], 3);
    await provider.shutdown();
  });
});
