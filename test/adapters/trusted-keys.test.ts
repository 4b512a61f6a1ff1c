// Keys the codecs derive from the protocol can never be set by a peer's
// THeader headers or Dubbo attachments: a header `service` on a plain Thrift
// call escaped a rate-limit condition on service (153k calls through a 200/s
// limit). Headers and attachments of other names stay routable.
import * as assert from 'node:assert/strict';
import { createDubboCodec } from 'meta-mesh/dubbo';
import { createThriftCodec } from 'meta-mesh/thrift';
import type { Message } from 'meta-mesh';
import { LocalRateLimiter } from '../../lib/ratelimit/local-rate-limiter';
import { captureRequests } from './thrift/support/thrift-wire';

/* eslint-disable @typescript-eslint/no-require-imports */
const hessian = require('hessian.js') as { EncoderV2: new () => { write(v: unknown): unknown; get(): Buffer } };
/* eslint-enable @typescript-eslint/no-require-imports */

function decoded(codec: { decode(b: Buffer, d: 'request'): { status: string; message?: Message } }, bytes: Buffer): Message {
  const r = codec.decode(bytes, 'request');
  assert.equal(r.status, 'done');
  return r.message as Message;
}

function dubboRequest(path: string, version: string, method: string, attachments: Record<string, string>): Buffer {
  const e = new hessian.EncoderV2();
  for (const v of ['2.0.2', path, version, method, 'Ljava/lang/String;', 'x', { $class: 'java.util.HashMap', $: attachments }]) e.write(v);
  const body = e.get();
  const h = Buffer.alloc(16);
  h.writeUInt16BE(0xdabb, 0);
  h[2] = 0xc2;
  h.writeUInt32BE(7, 8);
  h.writeUInt32BE(body.length, 12);
  return Buffer.concat([h, body]);
}

describe('codec-derived keys are not peer-controlled', () => {
  for (const stack of ['header-binary', 'header-compact'] as const) {
    it(`Thrift ${stack}: a header named service, method or method-name does not set those keys`, () => {
      const forged = { service: 'Admin', method: 'version', 'method-name': 'version', 'x-tenant': 'gold' };
      const [plain] = captureRequests(stack, (c) => c.add(1, 2), { headers: forged });
      const m = decoded(createThriftCodec(), plain!);
      assert.equal(m.metadata.get('method'), 'add');
      assert.equal(m.metadata.get('method-name'), 'add');
      assert.equal(m.metadata.has('service'), false, 'a non-multiplexed call has no service');
      assert.equal(m.metadata.get('x-tenant'), 'gold', 'other headers stay routable');
      const [muxed] = captureRequests(stack, (c) => c.add(1, 2), { service: 'Calc', headers: forged });
      const mm = decoded(createThriftCodec(), muxed!);
      assert.equal(mm.metadata.get('service'), 'Calc');
      assert.equal(mm.metadata.get('method'), 'Calc:add');
    });
  }

  it('Thrift: a rate limit on service holds a plain call whose header claims another service', () => {
    // The limit applies to calls that are NOT the Public service: a forged `service: Public` must not escape it.
    const limiter = new LocalRateLimiter({
      conditions: [{ match: [{ name: 'service', kind: 'exact', value: 'Public', invert: true, treatMissingAsEmpty: true }], tokenBucket: { maxTokens: 2, tokensPerFill: 2, fillIntervalMs: 3_600_000 } }],
    });
    const [bytes] = captureRequests('header-binary', (c) => c.add(1, 2), { headers: { service: 'Public' } });
    const codec = createThriftCodec();
    const allowed = Array.from({ length: 5 }, () => limiter.check(decoded(codec, bytes!).metadata));
    assert.deepEqual(allowed, [true, true, false, false, false]);
  });

  it('Dubbo: attachments named interface, method or version do not override the invocation body', () => {
    const m = decoded(createDubboCodec(), dubboRequest('org.example.Billing', '2.0.0', 'charge', { interface: 'org.example.Public', method: 'ping', version: '9.9.9', group: 'blue', foo: 'bar' }));
    assert.equal(m.metadata.get('interface'), 'org.example.Billing');
    assert.equal(m.metadata.get('method'), 'charge');
    assert.equal(m.metadata.get('version'), '2.0.0');
    assert.equal(m.metadata.get('group'), 'blue', 'group travels only as an attachment');
    assert.equal(m.metadata.get('foo'), 'bar');
    assert.equal(m.operationName, 'org.example.Billing/charge');
  });

  it('Dubbo: the version attachment stands in when the body has none', () => {
    const m = decoded(createDubboCodec(), dubboRequest('org.example.Billing', '', 'charge', { version: '1.2.3' }));
    assert.equal(m.metadata.get('version'), '1.2.3');
  });
});
