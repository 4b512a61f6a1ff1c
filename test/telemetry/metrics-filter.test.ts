import { strict as assert } from 'node:assert';
import { MeshError, MeshErrorCode } from 'meta-mesh';
import { composeFilters } from 'meta-mesh/experimental';
import { createMetricsFilter, MeshMetrics } from '../../lib/telemetry';
import { pointsWhere, registerMetrics, resetOtelGlobals } from './otel-sdk';
import { chain, testCall, testReply } from './test-call';

type HistogramPoint = { count: number; sum: number };

describe('metrics filter', () => {
  beforeEach(() => resetOtelGlobals());
  afterEach(() => resetOtelGlobals());

  it('records into an SDK registered after the filter was created and used', async () => {
    const handler = chain([createMetricsFilter()]);
    await handler(testCall());
    const { collect, provider } = registerMetrics();
    await handler(testCall());
    const points = pointsWhere<HistogramPoint>((await collect()).get('rpc.client.call.duration'), { 'rpc.method': 'add' });
    assert.equal(points.length, 1);
    assert.equal(points[0]!.value.count, 1, 'only the call made after registration');
    await provider.shutdown();
  });

  it('follows a new MeterProvider after the globals are disabled and registered again', async () => {
    const handler = chain([createMetricsFilter()]);
    const first = registerMetrics();
    await handler(testCall());
    resetOtelGlobals();
    const second = registerMetrics();
    await handler(testCall());
    await handler(testCall());
    const count = async (sdk: typeof first) => pointsWhere<HistogramPoint>((await sdk.collect()).get('rpc.client.call.duration'), {})[0]!.value.count;
    assert.equal(await count(first), 1);
    assert.equal(await count(second), 2);
    await first.provider.shutdown();
    await second.provider.shutdown();
  });

  it('measures durations in seconds from the call start on the injected clock', async () => {
    const { collect, provider } = registerMetrics();
    let clock = 1000;
    const handler = chain([createMetricsFilter({ now: () => clock, istio: { enabled: true } })], async () => {
      clock += 250;
      return testReply();
    });
    await handler(testCall({ startTime: 1000, direction: 'inbound', port: 19091 }));
    const metrics = await collect();
    const [server] = pointsWhere<HistogramPoint>(metrics.get('rpc.server.call.duration'), {});
    assert.equal(server!.value.sum, 0.25);
    assert.deepEqual(server!.attributes, { 'rpc.system.name': 'apache_thrift', 'rpc.method': 'add', 'rpc.status_code': 'OK', 'server.port': 19091 });
    const [istio] = pointsWhere<HistogramPoint>(metrics.get('istio_request_duration_milliseconds'), {});
    assert.equal(istio!.value.sum, 250);
    await provider.shutdown();
  });

  it('counts every local reply by its reason', async () => {
    const { collect, provider } = registerMetrics();
    const reasons = [MeshErrorCode.NO_ROUTE, MeshErrorCode.OVERFLOW, MeshErrorCode.OVER_LIMIT, MeshErrorCode.CIRCUIT_OPEN, MeshErrorCode.TIMEOUT, MeshErrorCode.TIMEOUT];
    for (const code of reasons) {
      const handler = chain([createMetricsFilter()], async () => {
        throw new MeshError(code, `refused: ${code}`);
      });
      await assert.rejects(handler(testCall()), { code });
    }
    await chain([createMetricsFilter()], async () => testReply({ ok: false }))(testCall());
    const metrics = await collect();
    const local = metrics.get('meta_mesh.local_replies');
    const counts = Object.fromEntries(pointsWhere<number>(local, {}).map((p) => [p.attributes['meta_mesh.reason'], p.value]));
    assert.deepEqual(counts, { NO_ROUTE: 1, OVERFLOW: 1, OVER_LIMIT: 1, CIRCUIT_OPEN: 1, TIMEOUT: 2 });
    const timeouts = pointsWhere<HistogramPoint>(metrics.get('rpc.client.call.duration'), { 'error.type': 'TIMEOUT', 'rpc.status_code': 'TIMEOUT' });
    assert.equal(timeouts[0]!.value.count, 2);
    assert.equal(pointsWhere(metrics.get('rpc.client.call.duration'), { 'error.type': 'error-reply' }).length, 1);
    await provider.shutdown();
  });

  it('labels Istio samples from the node metadata and the cluster name', async () => {
    const { collect, provider } = registerMetrics();
    const node = { NAME: 'web-7d9-x', NAMESPACE: 'shop', WORKLOAD_NAME: 'web', LABELS: { app: 'web', version: 'v3' } };
    const filter = createMetricsFilter({ istio: { enabled: true, nodeMetadata: node, inboundService: 'web.shop.svc.cluster.local' } });
    await chain([filter])(testCall());
    await chain([filter])(testCall());
    await chain([filter], async () => testReply({ ok: false }))(testCall({ direction: 'inbound' }));
    // No route: no cluster, so the destination is the host called and its version is unknown.
    const noRoute = composeFilters([filter], async () => {
      throw new MeshError(MeshErrorCode.NO_ROUTE, 'no route');
    });
    await assert.rejects(noRoute(testCall()));

    const requests = (await collect()).get('istio_requests_total');
    const [source] = pointsWhere<number>(requests, { reporter: 'source', response_code: '0' });
    assert.equal(source!.value, 2);
    assert.deepEqual(source!.attributes, {
      reporter: 'source',
      source_workload: 'web',
      source_workload_namespace: 'shop',
      source_principal: 'unknown',
      source_app: 'web',
      source_version: 'v3',
      source_canonical_service: 'web',
      source_canonical_revision: 'v3',
      source_cluster: 'unknown',
      destination_workload: 'unknown',
      destination_workload_namespace: 'demo',
      destination_principal: 'unknown',
      destination_service: 'calc.demo.svc.cluster.local',
      destination_service_name: 'calc',
      destination_service_namespace: 'demo',
      destination_app: 'unknown',
      destination_version: 'v2',
      destination_canonical_service: 'unknown',
      destination_canonical_revision: 'unknown',
      destination_cluster: 'unknown',
      request_protocol: 'thrift',
      response_code: '0',
      response_flags: '-',
      connection_security_policy: 'unknown',
    });
    const [failed] = pointsWhere<number>(requests, { reporter: 'source', response_code: '1' });
    assert.equal(failed!.attributes['destination_version'], 'unknown');
    assert.equal(failed!.attributes['response_flags'], 'NR');
    assert.equal(failed!.attributes['destination_service'], 'calc.demo.svc.cluster.local');
    const [destination] = pointsWhere<number>(requests, { reporter: 'destination' });
    assert.deepEqual(destination!.attributes, {
      reporter: 'destination',
      source_workload: 'unknown',
      source_workload_namespace: 'unknown',
      source_principal: 'unknown',
      source_app: 'unknown',
      source_version: 'unknown',
      source_canonical_service: 'unknown',
      source_canonical_revision: 'unknown',
      source_cluster: 'unknown',
      destination_workload: 'web',
      destination_workload_namespace: 'shop',
      destination_principal: 'unknown',
      destination_service: 'web.shop.svc.cluster.local',
      destination_service_name: 'web',
      destination_service_namespace: 'shop',
      destination_app: 'web',
      destination_version: 'v3',
      destination_canonical_service: 'web',
      destination_canonical_revision: 'v3',
      destination_cluster: 'unknown',
      request_protocol: 'thrift',
      response_code: '1',
      response_flags: '-',
      connection_security_policy: 'none',
    });
    await provider.shutdown();
  });

  it('emits no Istio names unless asked', async () => {
    const { collect, provider } = registerMetrics();
    await chain([createMetricsFilter()])(testCall());
    const metrics = await collect();
    assert.ok(metrics.has('rpc.client.call.duration'));
    assert.equal(metrics.has('istio_requests_total'), false);
    await provider.shutdown();
  });

  it('records request and response sizes: rpc.*.request.size / response.size and istio_request_bytes / istio_response_bytes', async () => {
    const { collect, provider } = registerMetrics();
    const filter = createMetricsFilter({ istio: { enabled: true } });
    await chain([filter], async () => testReply({ bytes: 1500 }))(testCall({ bytes: 41 }));
    await chain([filter], async () => testReply({ bytes: 7 }))(testCall({ bytes: 20000 }));
    await chain([filter], async () => testReply({ bytes: 90 }))(testCall({ bytes: 300, direction: 'inbound', port: 19091 }));
    const metrics = await collect();
    type Bucketed = { count: number; sum: number; buckets: { boundaries: number[]; counts: number[] } };
    const one = (name: string, where = {}) => {
      const points = pointsWhere<Bucketed>(metrics.get(name), where);
      assert.equal(points.length, 1, name);
      return points[0]!.value;
    };
    assert.deepEqual([one('rpc.client.request.size').count, one('rpc.client.request.size').sum], [2, 20041]);
    assert.deepEqual([one('rpc.client.response.size').count, one('rpc.client.response.size').sum], [2, 1507]);
    assert.equal(one('rpc.server.request.size').sum, 300);
    assert.equal(one('rpc.server.response.size').sum, 90);
    const sent = one('istio_request_bytes', { reporter: 'source' });
    assert.equal(sent.sum, 20041);
    // Istio's buckets: 41 falls in (10, 100], 20000 in (10000, 100000].
    assert.deepEqual(sent.buckets.boundaries, [1, 10, 100, 1000, 10000, 100000, 1000000, 10000000]);
    assert.deepEqual(sent.buckets.counts, [0, 0, 1, 0, 0, 1, 0, 0, 0]);
    assert.equal(one('istio_response_bytes', { reporter: 'source' }).sum, 1507);
    assert.equal(one('istio_request_bytes', { reporter: 'destination' }).sum, 300);
    assert.equal(one('istio_response_bytes', { reporter: 'destination' }).sum, 90);
    await provider.shutdown();
  });

  it('passes calls through and returns the same reply while no SDK is registered', async () => {
    const reply = testReply();
    assert.equal(await chain([createMetricsFilter()], async () => reply)(testCall()), reply);
  });
});

describe('MeshMetrics', () => {
  beforeEach(() => resetOtelGlobals());
  afterEach(() => resetOtelGlobals());

  it('counts ejections, retries and mirrored requests per cluster', async () => {
    const meshMetrics = new MeshMetrics();
    meshMetrics.ejection('outbound|9090|v1|calc');
    const { collect, provider } = registerMetrics();
    meshMetrics.ejection('outbound|9090|v1|calc');
    meshMetrics.ejection('outbound|9090|v1|calc');
    meshMetrics.retry('outbound|9090|v2|calc');
    meshMetrics.mirrored('outbound|9090|shadow|calc', false);
    meshMetrics.mirrored('outbound|9090|shadow|calc', true);
    meshMetrics.mirrored('outbound|9090|shadow|calc', false);
    const metrics = await collect();
    assert.deepEqual(pointsWhere<number>(metrics.get('meta_mesh.outlier.ejections'), {}).map((p) => [p.attributes, p.value]), [[{ 'meta_mesh.cluster': 'outbound|9090|v1|calc' }, 2]]);
    assert.equal(pointsWhere<number>(metrics.get('meta_mesh.retries'), { 'meta_mesh.cluster': 'outbound|9090|v2|calc' })[0]!.value, 1);
    assert.equal(pointsWhere<number>(metrics.get('meta_mesh.mirror.requests'), { 'meta_mesh.mirror.dropped': false })[0]!.value, 2);
    assert.equal(pointsWhere<number>(metrics.get('meta_mesh.mirror.requests'), { 'meta_mesh.mirror.dropped': true })[0]!.value, 1);
    await provider.shutdown();
  });
});
