import { strict as assert } from 'node:assert';
import { PassThrough, Writable } from 'node:stream';
import { MeshError, MeshErrorCode } from 'meta-mesh';
import { createAccessLogFilter, type AccessLogOptions } from '../../lib/telemetry';
import { isoTime } from '../../lib/telemetry/access-log-format';
import { chain, testCall, testReply } from './test-call';

const ORIGIN = Date.UTC(2024, 0, 2, 3, 4, 5, 0);

function collector(): { stream: PassThrough; lines: () => string[] } {
  const stream = new PassThrough();
  return { stream, lines: () => ((stream.read() as Buffer | null)?.toString() ?? '').split('\n').filter((l) => l !== '') };
}

function logged(format: AccessLogOptions['format'], stream: AccessLogOptions['stream'], extra: Partial<AccessLogOptions> = {}) {
  return createAccessLogFilter({ format, stream, now: () => 1234.9, timeOrigin: ORIGIN, ...extra });
}

describe('access-log filter', () => {
  it('writes Aeraki\'s TEXT format with the call\'s facts', async () => {
    const { stream, lines } = collector();
    const call = testCall({ startTime: 1000, bytes: 41, metadata: { method: 'add', 'x-request-id': 'req-1', 'x-forwarded-for': '10.1.1.1' } });
    await chain([logged('text', stream)], async () => testReply({ bytes: 27 }))(call);
    assert.deepEqual(lines(), [
      '[2024-01-02T03:04:06.000Z] thrift 0 via_upstream - "-" 41 27 234 "10.1.1.1" "req-1" outbound|9090|v2|calc.demo.svc.cluster.local - - - r1',
    ]);
  });

  it('writes the reference JSON keys, null where meta-mesh has no value', async () => {
    const { stream, lines } = collector();
    const noRoute = chain([logged('json', stream)], async (call) => {
      delete call.routeName;
      delete call.cluster;
      throw new MeshError(MeshErrorCode.NO_ROUTE, 'no route');
    });
    await assert.rejects(noRoute(testCall({ protocol: 'dubbo', startTime: 1000, bytes: 50, metadata: { method: 'sayHello' } })), { code: 'NO_ROUTE' });
    assert.deepEqual(JSON.parse(lines()[0]!), {
      start_time: '2024-01-02T03:04:06.000Z',
      route_name: null,
      application_protocol: 'dubbo',
      response_code: 1,
      response_code_details: 'no_matched_route',
      connection_termination_details: null,
      bytes_received: 50,
      bytes_sent: 0,
      duration: 234,
      request_id: null,
      upstream_cluster: null,
      upstream_local_address: null,
      downstream_local_address: null,
      downstream_remote_address: null,
      upstream_transport_failure_reason: null,
    });
  });

  it('names each kind of local reply and quotes the transport failure safely', async () => {
    const { stream, lines } = collector();
    const cases: [MeshErrorCode, string][] = [
      [MeshErrorCode.UNKNOWN_CLUSTER, 'unknown_cluster'],
      [MeshErrorCode.NO_HEALTHY_UPSTREAM, 'no_healthy_upstream'],
      [MeshErrorCode.OVER_LIMIT, 'rate_limited'],
      [MeshErrorCode.CIRCUIT_OPEN, 'circuit_open'],
      [MeshErrorCode.TIMEOUT, 'upstream_response_timeout'],
    ];
    for (const [code] of cases) await assert.rejects(chain([logged('text', stream)], async () => Promise.reject(new MeshError(code, 'x')))(testCall()));
    await assert.rejects(
      chain([logged('text', stream)], async () => Promise.reject(new MeshError(MeshErrorCode.CONNECT_FAILURE, 'connect "10.0.0.7:19092" refused\nECONNREFUSED')))(testCall()),
    );
    const out = lines();
    cases.forEach(([, details], i) => assert.equal(out[i]!.split(' ')[3], details));
    assert.match(out[5]!, / 1 upstream_connect_failure - "connect \\"10\.0\.0\.7:19092\\" refused\\nECONNREFUSED" /);
    assert.equal(out.length, 6, 'a newline in a message does not split the line');
  });

  it('counts an error reply from the upstream as response code 1 via the upstream', async () => {
    const { stream, lines } = collector();
    await chain([logged('json', stream)], async () => testReply({ ok: false }))(testCall());
    const entry = JSON.parse(lines()[0]!) as Record<string, unknown>;
    assert.equal(entry['response_code'], 1);
    assert.equal(entry['response_code_details'], 'via_upstream');
  });

  it('writes start times exactly as Date#toISOString does, across seconds and years', () => {
    for (const t of [0, 7, 99, 999, 1000, 1_704_164_645_123, Date.UTC(2023, 11, 31, 23, 59, 59, 999), Date.UTC(2024, 0, 1), 1_704_164_645_123.9]) {
      assert.equal(isoTime(t), new Date(Math.floor(t)).toISOString());
    }
  });

  it('escapes caller-controlled text in JSON lines', async () => {
    const { stream, lines } = collector();
    await chain([logged('json', stream)])(testCall({ metadata: { method: 'add', 'x-request-id': 'a"b\\c\n{"x":1}' } }));
    assert.equal((JSON.parse(lines()[0]!) as Record<string, unknown>)['request_id'], 'a"b\\c\n{"x":1}');
  });

  it('takes a custom formatter and ends its lines', async () => {
    const { stream, lines } = collector();
    await chain([logged((e) => `${e.direction} ${e.operationName} -> ${e.upstreamHost}`, stream)])(testCall({ direction: 'inbound' }));
    assert.deepEqual(lines(), ['inbound add -> 10.0.0.7:19092']);
  });

  it('refuses a bad format or stream with a CONFIG error that says what to pass', () => {
    assert.throws(() => createAccessLogFilter({ format: 'xml' as 'text', stream: process.stdout }), { code: 'CONFIG', message: /use 'text', 'json'/ });
    assert.throws(() => createAccessLogFilter({ format: 'text', stream: {} as never }), { code: 'CONFIG', message: /writable stream/ });
  });

  it('survives a failing stream: calls still answer, lines are counted as dropped', async () => {
    const errors: Error[] = [];
    const broken = new Writable({ write: (_chunk, _enc, cb) => cb(new Error('disk full')) });
    const filter = logged('text', broken, { onError: (e) => errors.push(e) });
    const handler = chain([filter]);
    await handler(testCall());
    await new Promise((resolve) => setImmediate(resolve));
    const reply = await handler(testCall());
    assert.equal(reply?.message.ok, true);
    assert.deepEqual(errors.map((e) => e.message), ['disk full']);
    assert.deepEqual(filter.stats, { written: 1, dropped: 1 });
  });

  it('drops lines instead of queueing without bound while the stream is backed up', async () => {
    const stuck = new Writable({ highWaterMark: 16, write: () => undefined });
    const filter = logged('text', stuck, { maxBufferedBytes: 100 });
    const handler = chain([filter]);
    for (let i = 0; i < 5; i++) await handler(testCall());
    assert.equal(filter.stats.written, 1, 'the first line is queued, the stream never drains');
    assert.equal(filter.stats.dropped, 4);
    stuck.destroy();
  });
});
