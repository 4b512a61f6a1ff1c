// End to end over real sockets: a generated Thrift client through a client
// mesh to a meta-mesh Thrift server, both meshes running the telemetry
// filters, with the real OpenTelemetry SDK capturing spans and metrics.
import { strict as assert } from 'node:assert';
import { PassThrough } from 'node:stream';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { Mesh } from 'meta-mesh';
import type { ThriftServer } from 'meta-mesh/thrift';
import { startCalculatorServer } from '../../examples/thrift-canary/servers';
import { createAccessLogFilter, createMetricsFilter, createTracingFilter, RPC_DURATION_BUCKETS } from '../../lib/telemetry';
import { destination, writeMeshYaml } from '../support/mesh-yaml';
import { HOST, PORT, calculatorClient } from '../adapters/thrift/support';
import { pointsWhere, registerOtelSdk, spansNamed, type OtelSdk } from './otel-sdk';

const routes = `    - name: calc-v1
      match:
        attributes:
          method:
            regex: "add|divide|header"
      route:
${destination(HOST, 'v1')}`;

const CLUSTER = `outbound|${PORT}|v1|${HOST}`;

function lines(stream: PassThrough): string[] {
  const text = (stream.read() as Buffer | null)?.toString() ?? '';
  return text.split('\n').filter((l) => l !== '');
}

describe('telemetry of Thrift calls through meta-mesh', function () {
  this.timeout(30_000);
  let sdk: OtelSdk;
  let serverMesh: Mesh;
  let server: ThriftServer;
  let mesh: Mesh;
  const clientLog = new PassThrough();
  const serverLog = new PassThrough();

  before(async () => {
    sdk = registerOtelSdk();
    const inbound = [createTracingFilter(), createMetricsFilter({ istio: { enabled: true, nodeMetadata: { NAMESPACE: 'calc-ns', WORKLOAD_NAME: 'calc-v1', LABELS: { app: 'calc', version: 'v1' } } } }), createAccessLogFilter({ format: 'json', stream: serverLog })];
    serverMesh = await Mesh.start({ filters: { inbound } });
    server = await startCalculatorServer(serverMesh, 'v1', 0);
    const outbound = [
      createTracingFilter(),
      createMetricsFilter({ istio: { enabled: true, nodeMetadata: { NAMESPACE: 'web', WORKLOAD_NAME: 'web-v3', LABELS: { app: 'web', version: 'v3' } } } }),
      createAccessLogFilter({ format: 'text', stream: clientLog }),
    ];
    const file = writeMeshYaml({ host: HOST, port: PORT, endpoints: [{ port: server.port, version: 'v1' }], routes });
    mesh = await Mesh.start({ config: file, logger: () => undefined, filters: { outbound } });
  });

  after(async () => {
    await mesh.close();
    await serverMesh.close();
    await sdk.shutdown();
  });

  beforeEach(() => {
    sdk.spans.reset();
    lines(clientLog);
    lines(serverLog);
  });

  it('puts the CLIENT and the SERVER span of a call in one trace, with RPC attributes', async () => {
    const { client } = calculatorClient(mesh, { upstreamTransport: 'header' });
    assert.equal(await client.add(2, 3), 5);

    const [clientSpan] = spansOfKind(SpanKind.CLIENT);
    const [serverSpan] = spansOfKind(SpanKind.SERVER);
    assert.ok(clientSpan && serverSpan, 'one client and one server span');
    assert.equal(clientSpan.name, 'add');
    assert.equal(serverSpan.name, 'add');
    assert.equal(serverSpan.spanContext().traceId, clientSpan.spanContext().traceId);
    assert.equal(serverSpan.parentSpanContext?.spanId, clientSpan.spanContext().spanId);
    assert.deepEqual(clientSpan.attributes, {
      'rpc.system.name': 'apache_thrift',
      'rpc.method': 'add',
      'server.address': HOST,
      'server.port': PORT,
      'meta_mesh.route': 'calc-v1',
      'meta_mesh.cluster': CLUSTER,
      'network.peer.address': '127.0.0.1',
      'network.peer.port': server.port,
      'rpc.status_code': 'OK',
    });
    assert.equal(serverSpan.attributes['rpc.system.name'], 'apache_thrift');
    assert.equal(serverSpan.attributes['rpc.method'], 'add');
    assert.equal(serverSpan.attributes['server.port'], server.port);
    assert.equal(serverSpan.attributes['rpc.status_code'], 'OK');
    assert.equal(clientSpan.status.code, SpanStatusCode.UNSET);
  });

  it('sends the client span as the W3C traceparent the server handler sees', async () => {
    const { client } = calculatorClient(mesh, { upstreamTransport: 'header' });
    const seen = await client.header('traceparent');
    const clientSpan = spansOfKind(SpanKind.CLIENT).find((s) => s.name === 'header')!;
    const { traceId, spanId } = clientSpan.spanContext();
    assert.equal(seen, `00-${traceId}-${spanId}-01`);
  });

  it('makes the client span a child of the span active in the application', async () => {
    const { client } = calculatorClient(mesh, { upstreamTransport: 'header' });
    const app = trace.getTracer('app');
    await app.startActiveSpan('checkout', async (parent) => {
      await client.add(1, 1);
      parent.end();
    });
    const checkout = spansNamed(sdk.spans, 'checkout')[0]!;
    const clientSpan = spansOfKind(SpanKind.CLIENT)[0]!;
    const serverSpan = spansOfKind(SpanKind.SERVER)[0]!;
    assert.equal(clientSpan.parentSpanContext?.spanId, checkout.spanContext().spanId);
    assert.equal(serverSpan.spanContext().traceId, checkout.spanContext().traceId);
  });

  it('marks an application exception with error.type on both spans', async () => {
    const { client } = calculatorClient(mesh, { upstreamTransport: 'header' });
    await assert.rejects(client.divide(1, 0), /1 \/ 0/);
    for (const span of [spansOfKind(SpanKind.CLIENT)[0]!, spansOfKind(SpanKind.SERVER)[0]!]) {
      assert.equal(span.attributes['error.type'], 'error-reply');
      assert.equal(span.attributes['rpc.status_code'], 'ERROR');
      assert.equal(span.status.code, SpanStatusCode.ERROR);
    }
  });

  it('records a call no route matches as a CLIENT span with error.type NO_ROUTE', async () => {
    const { client } = calculatorClient(mesh, { upstreamTransport: 'header' });
    await assert.rejects(client.echo('hi'), /no route/);
    const [clientSpan] = spansOfKind(SpanKind.CLIENT);
    assert.equal(clientSpan!.name, 'echo');
    assert.equal(clientSpan!.attributes['error.type'], 'NO_ROUTE');
    assert.equal(clientSpan!.attributes['rpc.status_code'], 'NO_ROUTE');
    assert.equal(clientSpan!.attributes['meta_mesh.route'], undefined);
    assert.match(clientSpan!.status.message ?? '', /no route in calc\.test\.svc_9090 matches/);
    assert.equal(spansOfKind(SpanKind.SERVER).length, 0, 'the call never left the client');
  });

  it('counts durations, local replies and Istio samples with their attributes', async () => {
    const { client } = calculatorClient(mesh, { upstreamTransport: 'header' });
    const before = await sdk.collect();
    const count = (name: string, where: Record<string, string | number>) =>
      pointsWhere<{ count: number }>(before.get(name), where).reduce((n, p) => n + p.value.count, 0);
    const baseline = {
      clientOk: count('rpc.client.call.duration', { 'rpc.method': 'add', 'rpc.status_code': 'OK' }),
      serverOk: count('rpc.server.call.duration', { 'rpc.method': 'add', 'rpc.status_code': 'OK' }),
      noRoute: pointsWhere<number>(before.get('meta_mesh.local_replies'), { 'meta_mesh.reason': 'NO_ROUTE' }).reduce((n, p) => n + p.value, 0),
    };
    for (let i = 0; i < 5; i++) await client.add(i, i);
    await assert.rejects(client.echo('x'));
    await assert.rejects(client.divide(4, 0));

    const metrics = await sdk.collect();
    const clientDuration = metrics.get('rpc.client.call.duration')!;
    assert.equal(clientDuration.descriptor.unit, 's');
    const [okPoint] = pointsWhere<{ count: number; buckets: { boundaries: number[] } }>(clientDuration, { 'rpc.method': 'add', 'rpc.status_code': 'OK' });
    assert.deepEqual(okPoint!.attributes, {
      'rpc.system.name': 'apache_thrift',
      'rpc.method': 'add',
      'rpc.status_code': 'OK',
      'server.address': HOST,
      'server.port': PORT,
    });
    assert.equal(okPoint!.value.count - baseline.clientOk, 5);
    assert.deepEqual(okPoint!.value.buckets.boundaries, [...RPC_DURATION_BUCKETS]);
    assert.equal(pointsWhere(clientDuration, { 'rpc.method': 'divide', 'error.type': 'error-reply' }).length, 1);
    assert.equal(pointsWhere(clientDuration, { 'rpc.method': 'echo', 'error.type': 'NO_ROUTE', 'rpc.status_code': 'NO_ROUTE' }).length, 1);

    const serverOk = pointsWhere<{ count: number }>(metrics.get('rpc.server.call.duration'), { 'rpc.method': 'add', 'rpc.status_code': 'OK' });
    assert.equal(serverOk[0]!.value.count - baseline.serverOk, 5);
    assert.equal(serverOk[0]!.attributes['server.address'], undefined, 'a server knows its port, not the name callers used');

    const local = pointsWhere<number>(metrics.get('meta_mesh.local_replies'), { 'meta_mesh.reason': 'NO_ROUTE' });
    assert.equal(local[0]!.value - baseline.noRoute, 1);
    assert.deepEqual(local[0]!.attributes, { 'meta_mesh.reason': 'NO_ROUTE', 'meta_mesh.direction': 'outbound', 'rpc.system.name': 'apache_thrift', 'server.address': HOST });
    assert.equal(pointsWhere(metrics.get('meta_mesh.local_replies'), { 'meta_mesh.reason': 'CODEC' }).length, 0, 'an application exception is not a local reply');

    const istioSource = pointsWhere<number>(metrics.get('istio_requests_total'), { reporter: 'source', response_code: '0' });
    assert.deepEqual(istioSource[0]!.attributes, {
      reporter: 'source',
      source_workload: 'web-v3',
      source_workload_namespace: 'web',
      source_principal: 'unknown',
      source_app: 'web',
      source_version: 'v3',
      source_canonical_service: 'web',
      source_canonical_revision: 'v3',
      source_cluster: 'unknown',
      destination_workload: 'unknown',
      destination_workload_namespace: 'test',
      destination_principal: 'unknown',
      destination_service: HOST,
      destination_service_name: 'calc',
      destination_service_namespace: 'test',
      destination_app: 'unknown',
      destination_version: 'v1',
      destination_canonical_service: 'unknown',
      destination_canonical_revision: 'unknown',
      destination_cluster: 'unknown',
      request_protocol: 'thrift',
      response_code: '0',
      response_flags: '-',
      connection_security_policy: 'unknown',
    });
    const istioDestination = pointsWhere<number>(metrics.get('istio_requests_total'), { reporter: 'destination', response_code: '1' });
    assert.equal(istioDestination[0]!.attributes['destination_workload'], 'calc-v1');
    assert.equal(istioDestination[0]!.attributes['destination_workload_namespace'], 'calc-ns');
    assert.equal(istioDestination[0]!.attributes['destination_version'], 'v1');
    assert.equal(metrics.get('istio_request_duration_milliseconds')!.descriptor.unit, 'ms');
  });

  it('writes one access-log line per call: text on the client, JSON on the server', async () => {
    const { client } = calculatorClient(mesh, { upstreamTransport: 'header', metadata: { 'x-request-id': 'req-42' } });
    await client.add(1, 2);
    await assert.rejects(client.echo('nope'));

    const text = lines(clientLog);
    assert.equal(text.length, 2);
    assert.match(text[0]!, new RegExp(`^\\[\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z\\] thrift 0 via_upstream - "-" \\d+ \\d+ \\d+ "-" "req-42" ${escape(CLUSTER)} - - - calc-v1$`));
    assert.match(text[1]!, /^\[[^\]]+\] thrift 1 no_matched_route - "-" \d+ 0 \d+ "-" "req-42" - - - - -$/);

    const json = lines(serverLog).map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(json.length, 1, 'only the routed call reached the server');
    assert.deepEqual(Object.keys(json[0]!).sort(), [
      'application_protocol', 'bytes_received', 'bytes_sent', 'connection_termination_details', 'downstream_local_address',
      'downstream_remote_address', 'duration', 'request_id', 'response_code', 'response_code_details', 'route_name',
      'start_time', 'upstream_cluster', 'upstream_local_address', 'upstream_transport_failure_reason',
    ]);
    assert.equal(json[0]!['response_code'], 0);
    assert.equal(json[0]!['request_id'], 'req-42');
    assert.equal(json[0]!['application_protocol'], 'thrift');
    assert.ok((json[0]!['bytes_received'] as number) > 0 && (json[0]!['bytes_sent'] as number) > 0);
  });

  function spansOfKind(kind: SpanKind): ReadableSpan[] {
    return sdk.spans.getFinishedSpans().filter((s) => s.kind === kind);
  }
});

function escape(s: string): string {
  return s.replace(/[|.]/g, (c) => `\\${c}`);
}
