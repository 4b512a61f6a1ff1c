import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { MeshError, MeshErrorCode, Metadata } from 'meta-mesh';
import {
  AERAKI_JSON_FORMAT,
  AERAKI_TEXT_FORMAT,
  compileJsonFormat,
  compileTextFormat,
  createAccessLogFilter,
  formatAccessLogJson,
  formatAccessLogText,
  type AccessLogEntry,
} from '../../lib/telemetry';
import { chain, testCall, testReply } from './test-call';

const ORIGIN = Date.UTC(2024, 0, 2, 3, 4, 5, 0);

function entry(overrides: Partial<AccessLogEntry> = {}): AccessLogEntry {
  return {
    startTime: Date.UTC(2024, 0, 2, 3, 4, 5, 678),
    direction: 'outbound',
    applicationProtocol: 'thrift',
    responseCode: 0,
    responseCodeDetails: 'via_upstream',
    upstreamTransportFailureReason: undefined,
    bytesReceived: 41,
    bytesSent: 27,
    durationMs: 12,
    forwardedFor: undefined,
    requestId: 'req-1',
    upstreamCluster: 'outbound|9090|v2|calc.demo.svc.cluster.local',
    upstreamHost: '10.0.0.7:19092',
    routeName: 'r1',
    operationName: 'Calculator/add',
    responseFlags: '-',
    attemptCount: 2,
    requestMetadata: new Metadata({ 'x-request-id': 'req-1', method: 'add', 'x-user': 'u 1' }),
    responseMetadata: new Metadata({ 'x-served-by': 'pod-a' }),
    ...overrides,
  };
}

function collector(): { stream: PassThrough; lines: () => string[] } {
  const stream = new PassThrough();
  return { stream, lines: () => ((stream.read() as Buffer | null)?.toString() ?? '').split('\n').filter((l) => l !== '') };
}

describe('access-log format strings', () => {
  it('renders each command operator of a TEXT format', () => {
    const format = compileTextFormat(
      '%START_TIME% %DURATION% %RESPONSE_CODE% %RESPONSE_CODE_DETAILS% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% ' +
        '%UPSTREAM_HOST% %UPSTREAM_CLUSTER% %ROUTE_NAME% %PROTOCOL% %REQ(X-REQUEST-ID)% "%REQ(X-USER)%" %RESP(X-SERVED-BY)% ' +
        '%UPSTREAM_REQUEST_ATTEMPT_COUNT% %OPERATION_NAME% %DIRECTION% %DOWNSTREAM_REMOTE_ADDRESS% %UPSTREAM_TRANSPORT_FAILURE_REASON%',
    );
    assert.equal(
      format(entry()),
      '2024-01-02T03:04:05.678Z 12 0 via_upstream - 41 27 10.0.0.7:19092 outbound|9090|v2|calc.demo.svc.cluster.local r1 thrift req-1 "u 1" pod-a ' +
        '2 Calculator/add outbound - -\n',
    );
  });

  it('takes the first present key of REQ(A?B), truncates to :N and formats START_TIME(...)', () => {
    const format = compileTextFormat('%REQ(X-MISSING?METHOD)% %REQ(X-REQUEST-ID):3% %START_TIME(%Y/%m/%d %H:%M:%S.%3f %s)% %RESP(NOPE)%');
    assert.equal(format(entry()), `add req 2024/01/02 03:04:05.678 ${Math.floor(Date.UTC(2024, 0, 2, 3, 4, 5) / 1000)} -\n`);
  });

  it('escapes quoted values and keeps bare values one field, so a caller cannot forge lines', () => {
    const format = compileTextFormat('"%REQ(X-USER)%" %REQ(X-USER)%');
    const e = entry({ requestMetadata: new Metadata({ 'x-user': 'a"b\nc d' }) });
    assert.equal(format(e), '"a\\"b\\nc d" a"b_c_d\n');
  });

  it('compiles Aeraki\'s default TEXT and JSON formats to exactly what the built-in formats write', () => {
    const text = compileTextFormat(AERAKI_TEXT_FORMAT);
    const json = compileJsonFormat(AERAKI_JSON_FORMAT);
    const failed = entry({ responseCode: 1, responseCodeDetails: 'upstream_connect_failure', upstreamTransportFailureReason: 'connect ECONNREFUSED "x"', routeName: undefined, requestId: undefined, requestMetadata: new Metadata() });
    for (const e of [entry(), failed]) {
      assert.equal(text(e), formatAccessLogText(e));
      assert.deepEqual(JSON.parse(json(e)), JSON.parse(formatAccessLogJson(e)));
    }
  });

  it('keeps types in JSON: numbers stay numbers, missing is null, mixed strings and nested objects render', () => {
    const json = compileJsonFormat(
      JSON.stringify({ d: '%DURATION%', code: '%RESPONSE_CODE%', missing: '%REQ(X-NONE)%', mixed: '%PROTOCOL%/%DURATION%ms', nested: { host: '%UPSTREAM_HOST%' }, k: 7 }),
    );
    assert.deepEqual(JSON.parse(json(entry())), { d: 12, code: 0, missing: null, mixed: 'thrift/12ms', nested: { host: '10.0.0.7:19092' }, k: 7 });
  });

  it('refuses an unknown operator, a bad START_TIME conversion or a non-object JSON format with a CONFIG error', () => {
    assert.throws(() => compileTextFormat('%NOT_AN_OPERATOR%'), (e: unknown) => e instanceof MeshError && e.code === MeshErrorCode.CONFIG && /NOT_AN_OPERATOR/.test(e.message));
    assert.throws(() => compileTextFormat('%START_TIME(%Q)%'), { code: 'CONFIG' });
    assert.throws(() => compileTextFormat('%REQ()%'), { code: 'CONFIG' });
    assert.throws(() => compileJsonFormat('[1]'), { code: 'CONFIG' });
    assert.throws(() => compileJsonFormat('{'), { code: 'CONFIG' });
  });

  it('takes Istio\'s accessLogFormat / accessLogEncoding in the filter, with RESPONSE_FLAGS of local replies', async () => {
    const { stream, lines } = collector();
    const log = createAccessLogFilter({
      accessLogFormat: '{"flags":"%RESPONSE_FLAGS%","code":"%RESPONSE_CODE%","host":"%UPSTREAM_HOST%"}',
      accessLogEncoding: 'JSON',
      stream,
      now: () => 1234,
      timeOrigin: ORIGIN,
    });
    await chain([log])(testCall());
    await assert.rejects(
      chain([log], async () => {
        throw new MeshError(MeshErrorCode.NO_HEALTHY_UPSTREAM, 'none');
      })(testCall()),
    );
    assert.deepEqual(lines().map((l) => JSON.parse(l)), [
      { flags: '-', code: 0, host: '10.0.0.7:19092' },
      { flags: 'UH', code: 1, host: '10.0.0.7:19092' },
    ]);
    assert.throws(() => createAccessLogFilter({ format: 'text', accessLogFormat: '%DURATION%', stream }), { code: 'CONFIG' });
    assert.throws(() => createAccessLogFilter({ accessLogEncoding: 'XML' as 'JSON', stream }), { code: 'CONFIG' });
  });

  it('defaults to the JSON keys with accessLogEncoding JSON and appends to accessLogFile', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-alog-'));
    const file = path.join(dir, 'access.log');
    const log = createAccessLogFilter({ accessLogEncoding: 'JSON', accessLogFile: file, now: () => 1234, timeOrigin: ORIGIN });
    await chain([log], async () => testReply({ bytes: 9 }))(testCall({ startTime: 1000 }));
    assert.equal(log.stats.written, 1);
    await new Promise<void>((resolve) => {
      const poll = () => (fs.existsSync(file) && fs.readFileSync(file, 'utf8').includes('\n') ? resolve() : setImmediate(poll));
      poll();
    });
    const line = JSON.parse(fs.readFileSync(file, 'utf8').trim()) as Record<string, unknown>;
    assert.equal(line['bytes_sent'], 9);
    assert.equal(line['route_name'], 'r1');
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
