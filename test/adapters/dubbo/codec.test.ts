// The dubbo2 codec on real bytes: requests apache-dubbo-js writes (captured
// with a raw server), values of every kind hessian.js writes, responses,
// heartbeats, mutations, error replies, and malformed input.
import * as assert from 'node:assert/strict';
import { java } from 'apache-dubbo-js';
import { MeshError, MeshErrorCode, type Message } from 'meta-mesh';
import { createDubboCodec, DubboStatus, type DubboCodec } from 'meta-mesh/dubbo';
import { mulberry32 } from '../../support/mulberry32';
import { captureDubboJsRequests, dubboJsHeartbeat } from './dubbo-js-capture';

/* eslint-disable @typescript-eslint/no-require-imports */
const hessian = require('hessian.js') as {
  EncoderV2: new () => { write(v: unknown): unknown; get(): Buffer };
  DecoderV2: new (b: Buffer) => { read(): unknown };
};
const dubboJsDecode = (require('apache-dubbo-js/es7/decode') as { decode(b: Buffer): { err: Error | null; res: unknown; attachments: Record<string, unknown> } }).decode;
/* eslint-enable @typescript-eslint/no-require-imports */

function done(codec: DubboCodec, buf: Buffer, direction: 'request' | 'response' = 'request'): Message {
  const r = codec.decode(buf, direction);
  assert.equal(r.status, 'done');
  if (r.status !== 'done') throw new Error('unreachable');
  assert.equal(r.consumed, buf.length);
  return r.message;
}

function frame(flags: number, status: number, id: number, values: unknown[]): Buffer {
  const e = new hessian.EncoderV2();
  for (const v of values) e.write(v);
  const body = e.get();
  const h = Buffer.alloc(16);
  h[0] = 0xda;
  h[1] = 0xbb;
  h[2] = flags;
  h[3] = status;
  h.writeUInt32BE(id, 8);
  h.writeUInt32BE(body.length, 12);
  return Buffer.concat([h, body]);
}

function readAll(buf: Buffer): unknown[] {
  const d = new hessian.DecoderV2(buf.subarray(16));
  const out: unknown[] = [];
  for (;;) {
    try {
      out.push(d.read());
    } catch {
      return out;
    }
  }
}

function throwsCodec(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => err instanceof MeshError && err.code === MeshErrorCode.CODEC && pattern.test(err.message));
}

describe('dubbo codec', () => {
  let captured: Buffer[];

  before(async () => {
    captured = await captureDubboJsRequests(
      async (demo) => {
        await demo.sayHello!('world');
        await demo.add!(1, 2);
        await demo.save!({ name: 'ana', age: 7, tags: ['x', 'y'] }, ['a', 'b', 'ü€😀']);
      },
      { group: 'blue', attachments: { foo: 'bar', traceparent: '00-abc-def-01' } },
    );
  });

  it('reads interface, method, version, group and every attachment from a dubbo-js request', () => {
    assert.equal(captured.length, 3);
    const m = done(createDubboCodec(), captured[0]!);
    assert.equal(m.type, 'request');
    assert.equal(m.operationName, 'org.example.DemoService/sayHello');
    assert.equal(typeof m.requestId, 'number');
    assert.deepEqual(m.metadata.toJSON(), {
      application: 'capture',
      foo: 'bar',
      group: 'blue',
      interface: 'org.example.DemoService',
      method: 'sayHello',
      path: 'org.example.DemoService',
      traceparent: '00-abc-def-01',
      version: '1.0.0',
    });
  });

  it('skips primitive, object and list arguments to reach the attachments', () => {
    const codec = createDubboCodec();
    const add = done(codec, captured[1]!);
    assert.equal(add.metadata.get('method'), 'add');
    assert.equal(add.metadata.get('foo'), 'bar');
    const save = done(codec, captured[2]!);
    assert.equal(save.metadata.get('method'), 'save');
    assert.equal(save.metadata.get('traceparent'), '00-abc-def-01');
  });

  it('skips every value kind hessian.js writes, including refs, chunks and class definitions', () => {
    const user = java.combine('org.example.User', { name: 'ana', age: 7 });
    const shared = { $class: 'java.util.HashMap', $: { k: 'v' } };
    const args = [
      null,
      true,
      false,
      0,
      -16,
      47,
      -2048,
      2047,
      -262144,
      262143,
      2 ** 31 - 1,
      java.long(0),
      java.long(-8),
      java.long(2047),
      java.long(262143),
      java.long(2 ** 31 - 1),
      java.long(2 ** 40),
      0.0,
      1.0,
      -128.0,
      30000.0,
      1.5,
      Math.PI,
      new Date(1_700_000_000_000),
      new Date(1_700_000_040_000),
      'ü€😀',
      'x'.repeat(1000),
      'y'.repeat(40_000),
      Buffer.alloc(10, 1),
      Buffer.alloc(900, 2),
      Buffer.alloc(70_000, 3),
      [1, 'two', null],
      java.List(Array.from({ length: 9 }, (_, i) => java.String(String(i)))),
      java.array('java.lang.String', ['p', 'q']),
      java.Map({ a: 1, b: 'c' }),
      user,
      java.combine('org.example.User', { name: 'bo', age: 8 }),
      shared,
      shared,
    ];
    const types = 'L'.repeat(0) + args.map(() => 'Ljava/lang/Object;').join('');
    const attachments = { $class: 'java.util.HashMap', $: { interface: 'org.example.Kinds', version: '3.0', retries: 2 } };
    const buf = frame(0xc2, 0, 9, ['2.0.2', 'org.example.Kinds', '3.0', 'all', types, ...args, attachments]);
    const m = done(createDubboCodec({ maxBodySize: 1 << 20 }), buf);
    assert.equal(m.metadata.get('interface'), 'org.example.Kinds');
    assert.equal(m.metadata.get('method'), 'all');
    assert.equal(m.metadata.get('version'), '3.0');
    assert.equal(m.metadata.get('retries'), '2');
  });

  it('treats not-two-way requests as oneway, event requests as heartbeats and their replies as responses', () => {
    const codec = createDubboCodec();
    const oneway = Buffer.from(captured[0]!);
    oneway[2] = 0x82;
    assert.equal(done(codec, oneway).type, 'oneway');
    const hb = dubboJsHeartbeat.encode();
    const beat = done(codec, hb);
    assert.equal(beat.type, 'heartbeat');
    const reply = codec.encodeHeartbeatReply(beat);
    assert.ok(dubboJsHeartbeat.isHeartBeat(reply));
    const decoded = done(codec, reply, 'response');
    // Only a heartbeat request needs an answer; its reply must not trigger another.
    assert.equal(decoded.type, 'response');
    assert.equal(decoded.operationName, 'heartbeat');
    assert.equal(decoded.requestId, beat.requestId);
  });

  it('reads responses: values, nulls, exceptions, attachments and error statuses', () => {
    const codec = createDubboCodec();
    const value = done(codec, frame(0x02, 20, 5, [1, 'hi']), 'response');
    assert.deepEqual([value.type, value.ok, value.requestId], ['response', true, 5]);
    assert.equal(done(codec, frame(0x02, 20, 5, [2]), 'response').ok, true);
    const exception = done(codec, frame(0x02, 20, 5, [0, { $class: 'java.lang.IllegalStateException', $: { detailMessage: 'bad' } }]), 'response');
    assert.deepEqual([exception.type, exception.ok], ['response', false]);
    const withAttachments = done(codec, frame(0x02, 20, 5, [4, 'hi', { $class: 'java.util.HashMap', $: { zone: 'z1' } }]), 'response');
    assert.equal(withAttachments.metadata.get('zone'), 'z1');
    const nullWithAttachments = done(codec, frame(0x02, 20, 5, [5, { $class: 'java.util.HashMap', $: { zone: 'z2' } }]), 'response');
    assert.equal(nullWithAttachments.metadata.get('zone'), 'z2');
    const status = done(codec, frame(0x02, 70, 5, ['service failed']), 'response');
    assert.deepEqual([status.type, status.ok], ['error', false]);
    assert.equal(codec.errorText(status), 'service failed');
  });

  it('rewrites the request id and leaves every other byte alone', () => {
    const codec = createDubboCodec();
    const m = done(codec, captured[0]!);
    const out = codec.encode(m, { requestId: 0x1234_5678_9a });
    assert.equal(done(codec, out).requestId, 0x1234_5678_9a);
    assert.deepEqual(out.subarray(12), captured[0]!.subarray(12));
    assert.equal(codec.encode(m), m.frame);
  });

  it('writes a mutation into the request attachments, replacing keys it names and keeping the arguments', () => {
    const codec = createDubboCodec();
    const m = done(codec, captured[2]!);
    const out = codec.encode(m, { requestId: 3, mutation: new Map([['foo', 'baz'], ['x-canary', 'true']]) });
    assert.equal(out.readUInt32BE(12), out.length - 16);
    const before = readAll(captured[2]!);
    const after = readAll(out);
    assert.deepEqual(after.slice(0, -1), before.slice(0, -1));
    assert.deepEqual(after.at(-1), { ...(before.at(-1) as object), foo: 'baz', 'x-canary': 'true' });
    assert.equal(done(codec, out).metadata.get('x-canary'), 'true');
  });

  it('writes a response mutation as result attachments that dubbo-js reads', () => {
    const codec = createDubboCodec();
    const mutation = new Map([['zone', 'z9']]);
    const value = codec.encode(done(codec, frame(0x02, 20, 5, [1, 'hi']), 'response'), { mutation });
    assert.deepEqual(dubboJsDecode(value), { requestId: 5, err: null, res: 'hi', attachments: { zone: 'z9' } });
    const nil = codec.encode(done(codec, frame(0x02, 20, 5, [2]), 'response'), { mutation });
    assert.deepEqual(dubboJsDecode(nil).attachments, { zone: 'z9' });
    const merged = codec.encode(done(codec, frame(0x02, 20, 5, [4, 'hi', { $class: 'java.util.HashMap', $: { a: '1', zone: 'old' } }]), 'response'), { mutation });
    assert.deepEqual(dubboJsDecode(merged).attachments, { a: '1', zone: 'z9' });
  });

  it('maps mesh errors to Dubbo statuses with a readable hessian2 message', () => {
    const codec = createDubboCodec();
    const request = done(codec, captured[0]!);
    const cases: [MeshErrorCode, number][] = [
      [MeshErrorCode.NO_ROUTE, DubboStatus.SERVICE_NOT_FOUND],
      [MeshErrorCode.CODEC, DubboStatus.BAD_RESPONSE],
      [MeshErrorCode.TIMEOUT, DubboStatus.SERVER_TIMEOUT],
      [MeshErrorCode.OVER_LIMIT, DubboStatus.SERVER_THREADPOOL_EXHAUSTED],
      [MeshErrorCode.OVERFLOW, DubboStatus.SERVER_THREADPOOL_EXHAUSTED],
      [MeshErrorCode.CIRCUIT_OPEN, DubboStatus.SERVER_THREADPOOL_EXHAUSTED],
      [MeshErrorCode.UPSTREAM_RESET, DubboStatus.SERVER_ERROR],
    ];
    for (const [code, status] of cases) {
      const bytes = codec.encodeError(request, new MeshError(code, 'what happened'));
      assert.equal(bytes[3], status, code);
      assert.equal(bytes.readUInt32BE(8), request.requestId);
      assert.deepEqual(readAll(bytes), [`[meta-mesh ${code}] what happened`]);
    }
    assert.equal(codec.encodeError(undefined, new MeshError(MeshErrorCode.CODEC, 'garbage'))[3], DubboStatus.BAD_REQUEST);
  });

  it('asks for more bytes until a whole frame is there', () => {
    const codec = createDubboCodec();
    const whole = captured[0]!;
    assert.deepEqual(codec.decode(whole.subarray(0, 1), 'request'), { status: 'more', needed: 16 });
    assert.deepEqual(codec.decode(whole.subarray(0, 20), 'request'), { status: 'more', needed: whole.length });
    const two = Buffer.concat([whole, captured[1]!]);
    const first = codec.decode(two, 'request');
    assert.ok(first.status === 'done' && first.consumed === whole.length);
  });

  it('rejects garbage, other serializations and oversized bodies with errors that say what to change', () => {
    const codec = createDubboCodec({ maxBodySize: 64 });
    throwsCodec(() => codec.decode(Buffer.from('GET / HTTP/1.1\r\n\r\n'), 'request'), /not the dubbo magic 0xdabb/);
    const fastjson = Buffer.from(captured[0]!);
    fastjson[2] = 0xc6;
    throwsCodec(() => codec.decode(fastjson, 'request'), /serialization id 6 \(fastjson\).*hessian2/);
    throwsCodec(() => codec.decode(captured[0]!, 'request'), /exceeds maxBodySize \(64 bytes\)/);
    assert.throws(() => createDubboCodec({ maxBodySize: -1 }), (e: unknown) => e instanceof MeshError && e.code === MeshErrorCode.CONFIG);
  });

  it('turns malformed bodies into CODEC errors, never crashes', () => {
    const codec = createDubboCodec();
    // A body cut short, with the header claiming only what is there.
    const cut = Buffer.from(captured[2]!.subarray(0, captured[2]!.length - 10));
    cut.writeUInt32BE(cut.length - 16, 12);
    throwsCodec(() => codec.decode(cut, 'request'), /dubbo codec: /);
    const random = mulberry32(6);
    for (let i = 0; i < 3000; i++) {
      const source = captured[i % captured.length]!;
      const bad = Buffer.from(source);
      for (let k = 0; k < 3; k++) bad[16 + Math.floor(random() * (bad.length - 16))] = Math.floor(random() * 256);
      try {
        codec.decode(bad, 'request');
      } catch (err) {
        assert.ok(err instanceof MeshError && err.code === MeshErrorCode.CODEC, `unexpected ${String(err)}`);
      }
    }
  });
});
