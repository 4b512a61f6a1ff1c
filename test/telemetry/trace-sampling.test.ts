import { strict as assert } from 'node:assert';
import { Metadata, type RouteConfig } from 'meta-mesh';
import { createTracingFilter, TraceSampler, traceReasonOf } from '../../lib/telemetry';
import { registerTracing, resetOtelGlobals } from './otel-sdk';
import { chain, testCall } from './test-call';
import { mulberry32 as seeded } from '../support/mulberry32';

/** A version-4 UUID from `rand`, as an x-request-id generator writes it. */
function uuid(rand: () => number): string {
  const hex = (n: number) => Array.from({ length: n }, () => Math.floor(rand() * 16).toString(16)).join('');
  return `${hex(8)}-${hex(4)}-4${hex(3)}-${'89ab'[Math.floor(rand() * 4)]}${hex(3)}-${hex(12)}`;
}

/** Binomial bounds: n·p ± 4.5 standard deviations (about 7 in a million to fall outside by chance). */
function within(count: number, n: number, p: number): void {
  const sd = Math.sqrt(n * p * (1 - p));
  assert.ok(Math.abs(count - n * p) <= 4.5 * sd, `${count} of ${n} sampled; expected ${n * p} ± ${(4.5 * sd).toFixed(1)}`);
}

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';

describe('trace sampling', () => {
  afterEach(() => resetOtelGlobals());

  it('samples 10% of calls with random_sampling 10, within binomial bounds, and marks each x-request-id', async () => {
    resetOtelGlobals();
    const { spans, provider } = registerTracing();
    const handler = chain([createTracingFilter({ random_sampling: 10 })]);
    const rand = seeded(21);
    const n = 4000;
    let marked = 0;
    for (let i = 0; i < n; i++) {
      const call = testCall({ metadata: { method: 'add', 'x-request-id': uuid(rand) } });
      await handler(call);
      const sent = call.mutation.get('x-request-id')!;
      // Envoy's marks: 9 sampled, 4 not; the next hop reads the decision from it.
      if (traceReasonOf(sent) === 'sampled') marked++;
      assert.equal(call.mutation.get('traceparent')!.endsWith(traceReasonOf(sent) === 'sampled' ? '-01' : '-00'), true);
    }
    const count = spans.getFinishedSpans().length;
    within(count, n, 0.1);
    assert.equal(marked, count);
    await provider.shutdown();
  });

  it('samples 10% of inbound calls without an x-request-id too (random value per call)', async () => {
    resetOtelGlobals();
    const { spans, provider } = registerTracing();
    const handler = chain([createTracingFilter({ random_sampling: 10, random: seeded(7) })]);
    const n = 4000;
    // Inbound: an outbound call without one is given a fresh x-request-id first, whose digits then decide.
    for (let i = 0; i < n; i++) await handler(testCall({ direction: 'inbound' }));
    within(spans.getFinishedSpans().length, n, 0.1);
    await provider.shutdown();
  });

  it('decides the same for the same x-request-id on every hop (Envoy\'s first 8 hex digits mod 10000)', () => {
    const sampler = new TraceSampler({ random_sampling: 50 });
    // 0x00001388 % 10000 = 5000: not below 50% (5000 ten-thousandths); 0x00001387 is.
    assert.equal(sampler.decide(new Metadata({ 'x-request-id': '00001388-0000-4000-8000-000000000000' }), undefined).sampled, false);
    const yes = sampler.decide(new Metadata({ 'x-request-id': '00001387-0000-4000-8000-000000000000' }), undefined);
    assert.deepEqual(yes, { sampled: true, requestId: '00001387-0000-9000-8000-000000000000' });
    // A hop downstream sees the 9 and traces, whatever its own random_sampling.
    assert.equal(new TraceSampler({ random_sampling: 0 }).decide(new Metadata({ 'x-request-id': yes.requestId! }), undefined).sampled, true);
  });

  it('traces x-client-trace-id by client_sampling and x-envoy-force-trace always, both capped by overall_sampling', () => {
    const none = { random_sampling: 0 };
    const rid = '00000001-0000-4000-8000-000000000000';
    const decide = (s: object, md: Record<string, string>) => new TraceSampler(s).decide(new Metadata({ 'x-request-id': rid, ...md }), undefined);
    assert.equal(decide(none, { 'x-client-trace-id': 'c1' }).requestId, '00000001-0000-b000-8000-000000000000');
    assert.equal(decide({ ...none, client_sampling: 0 }, { 'x-client-trace-id': 'c1' }).sampled, false);
    assert.equal(decide(none, { 'x-envoy-force-trace': 'true' }).requestId, '00000001-0000-a000-8000-000000000000');
    assert.equal(decide({ ...none, overall_sampling: 0 }, { 'x-envoy-force-trace': 'true' }).sampled, false);
    assert.equal(decide({ overall_sampling: 0 }, { 'x-request-id': '00000001-0000-9000-8000-000000000000' }).requestId, rid, 'overall_sampling unmarks a sampled id');
  });

  it('honours a caller\'s sampled flag over every percentage: traceparent and x-b3-sampled inbound', async () => {
    resetOtelGlobals();
    const { spans, provider } = registerTracing();
    const never = chain([createTracingFilter({ random_sampling: 0, overall_sampling: 0 })]);
    const always = chain([createTracingFilter({ random_sampling: 100 })]);
    await never(testCall({ direction: 'inbound', metadata: { method: 'add', traceparent: `00-${TRACE_ID}-00f067aa0ba902b7-01` } }));
    await never(testCall({ direction: 'inbound', metadata: { method: 'add', 'x-b3-sampled': '1' } }));
    assert.equal(spans.getFinishedSpans().length, 2);
    await always(testCall({ direction: 'inbound', metadata: { method: 'add', traceparent: `00-${TRACE_ID}-00f067aa0ba902b7-00` } }));
    await always(testCall({ direction: 'inbound', metadata: { method: 'add', 'x-b3-sampled': '0' } }));
    assert.equal(spans.getFinishedSpans().length, 2, 'the callers said not sampled');
    await provider.shutdown();
  });

  it('takes the route config\'s listener sampling over the Mesh options, unset fields from the options', async () => {
    resetOtelGlobals();
    const { spans, provider } = registerTracing();
    const listener: RouteConfig = { name: 'calc_9090', routes: [], tracing: { overall_sampling: 0 } };
    let current: RouteConfig | undefined = listener;
    const handler = chain([createTracingFilter({ random_sampling: 100 }, () => current?.tracing)]);
    await handler(testCall());
    assert.equal(spans.getFinishedSpans().length, 0);
    current = undefined;
    await handler(testCall());
    assert.equal(spans.getFinishedSpans().length, 1);
    await provider.shutdown();
  });

  it('refuses a percentage outside 0-100 when the filter is made', () => {
    assert.throws(() => createTracingFilter({ random_sampling: 101 }), { code: 'CONFIG' });
    assert.throws(() => createTracingFilter({ overall_sampling: Number.NaN }), { code: 'CONFIG' });
  });
});
