import { strict as assert } from 'node:assert';
import { PassThrough } from 'node:stream';
import { SpanKind } from '@opentelemetry/api';
import { createTelemetryFilters, MeshMetrics } from '../../lib/telemetry';
import { registerOtelSdk } from './otel-sdk';
import { chain, testCall } from './test-call';

describe('telemetry option', () => {
  it('adds no filter unless a part is asked for', () => {
    const none = createTelemetryFilters();
    assert.equal(none.outbound.length, 0);
    assert.equal(none.inbound.length, 0);
    assert.ok(none.metrics instanceof MeshMetrics);
    assert.equal(createTelemetryFilters({ tracing: false, metrics: false }).outbound.length, 0);
  });

  it('puts tracing first, then metrics, the access log and the metadata exchange, in both chains', async () => {
    const sdk = registerOtelSdk();
    const log = new PassThrough();
    const { outbound, inbound } = createTelemetryFilters({ tracing: true, metrics: { istio: { enabled: true } }, accessLog: { format: 'json', stream: log } });
    assert.equal(outbound.length, 4);
    assert.equal(createTelemetryFilters({ metrics: { istio: { enabled: true, metadataExchange: false } } }).outbound.length, 1);
    await chain(outbound)(testCall());
    await chain(inbound)(testCall({ direction: 'inbound' }));
    assert.deepEqual(sdk.spans.getFinishedSpans().map((s) => s.kind), [SpanKind.CLIENT, SpanKind.SERVER]);
    const metrics = await sdk.collect();
    assert.ok(metrics.has('rpc.client.call.duration') && metrics.has('rpc.server.call.duration') && metrics.has('istio_requests_total'));
    assert.equal(String(log.read()).trim().split('\n').length, 2);
    await sdk.shutdown();
  });
});
