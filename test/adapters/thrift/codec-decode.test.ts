// Decoding what real Thrift clients and servers send: every transport and
// protocol the Node library speaks, multiplexed names, oneway calls, replies
// with and without declared exceptions, and THeader from Node and Python.
import assert from 'node:assert/strict';
import type { Message } from '../../../lib/protocol';
import { createThriftCodec, ThriftFrameState, type ThriftCodec } from '../../../adapters/thrift/codec';
import { addRequest, captureRequests, formatOf, serve, STACKS, type Stack } from './support/thrift-wire';
import { pythonHeaderRequest, pythonThriftAvailable } from './support/python-thrift';

function decodeOne(codec: ThriftCodec, bytes: Buffer, direction: 'request' | 'response' = 'request') {
  const result = codec.decode(bytes, direction);
  assert.equal(result.status, 'done');
  if (result.status !== 'done') throw new Error('unreachable');
  return result;
}

describe('ThriftCodec decode', () => {
  for (const stack of STACKS) {
    describe(stack, () => {
      it('frames an add() call and reports method, seqid and the whole frame', () => {
        const bytes = addRequest(stack);
        const codec = createThriftCodec();
        const { message, consumed } = decodeOne(codec, Buffer.concat([bytes, Buffer.from([1, 2, 3])]));
        assert.equal(consumed, bytes.length);
        assert.deepEqual(message.frame, bytes);
        assert.equal(message.type, 'request');
        assert.equal(message.requestId, 1);
        assert.equal(message.metadata.get('method'), 'add');
        assert.equal(message.metadata.get('method-name'), 'add');
        assert.equal(message.metadata.has('service'), false);
        assert.equal(message.operationName, 'add');
        assert.equal(message.ok, undefined);
        assert.deepEqual({ ...codec.format }, formatOf(stack));
        assert.deepEqual({ ...ThriftFrameState.of(message).format }, formatOf(stack));
      });

      it('keeps a multiplexed name as written in method, as MetaProtocol Proxy does, and its parts under their own keys', () => {
        const bytes = addRequest(stack, { service: 'Calc' });
        const { message } = decodeOne(createThriftCodec(), bytes);
        assert.equal(message.metadata.get('method'), 'Calc:add');
        assert.equal(message.metadata.get('service'), 'Calc');
        assert.equal(message.metadata.get('method-name'), 'add');
        assert.equal(message.operationName, 'Calc/add');
      });

      it('reports a oneway call as oneway', () => {
        const [bytes] = captureRequests(stack, (c) => c.record('started'));
        const { message } = decodeOne(createThriftCodec(), bytes!);
        assert.equal(message.type, 'oneway');
        assert.equal(message.metadata.get('method'), 'record');
      });

      it('frames a call carrying a 200 KB string', () => {
        const text = 'x'.repeat(200_000);
        const [bytes] = captureRequests(stack, (c) => c.echo(text));
        const { message, consumed } = decodeOne(createThriftCodec(), Buffer.concat([bytes!, bytes!]));
        assert.equal(consumed, bytes!.length);
        assert.equal(message.metadata.get('method'), 'echo');
      });

      it('decodes several calls in a row with increasing seqids', () => {
        const messages = captureRequests(stack, (c) => [c.add(1, 2), c.subtract(5, 1), c.version()]);
        const codec = createThriftCodec();
        let buf = Buffer.concat(messages);
        const seen: Array<[string | undefined, number | bigint]> = [];
        while (buf.length > 0) {
          const { message, consumed } = decodeOne(codec, buf);
          seen.push([message.metadata.get('method'), message.requestId]);
          buf = buf.subarray(consumed);
        }
        assert.deepEqual(seen, [['add', 1], ['subtract', 2], ['version', 3]]);
      });

      it('reports a successful reply as ok', async () => {
        const served = await serve(stack, addRequest(stack));
        const { message } = decodeOne(createThriftCodec(), served.reply!, 'response');
        assert.equal(message.type, 'response');
        assert.equal(message.ok, true);
        assert.equal(message.requestId, 1);
        assert.equal(message.metadata.get('method'), 'add');
        assert.deepEqual({ ...ThriftFrameState.of(message).format }, formatOf(stack));
      });

      it('reports a reply carrying a declared exception as not ok', async () => {
        const [request] = captureRequests(stack, (c) => c.divide(1, 0));
        const served = await serve(stack, request!);
        const { message } = decodeOne(createThriftCodec(), served.reply!, 'response');
        assert.equal(message.type, 'response');
        assert.equal(message.ok, false);
      });

      it('reports a TApplicationException reply as an error', async () => {
        const [request] = captureRequests(stack, (c) => c.echo('boom'));
        const served = await serve(stack, request!);
        const { message } = decodeOne(createThriftCodec(), served.reply!, 'response');
        assert.equal(message.type, 'error');
        assert.equal(message.ok, false);
      });
    });
  }

  describe('THeader from the Node library', () => {
    for (const stack of ['header-binary', 'header-compact'] as Stack[]) {
      it(`exposes ${stack} headers as lower-cased metadata`, () => {
        const bytes = addRequest(stack, { headers: { 'X-Canary': 'yes', traceparent: '00-abc-def-01' } });
        const { message } = decodeOne(createThriftCodec(), bytes);
        assert.equal(message.metadata.get('x-canary'), 'yes');
        assert.equal(message.metadata.get('traceparent'), '00-abc-def-01');
        assert.equal(message.metadata.get('method'), 'add');
        const state = ThriftFrameState.of(message);
        assert.deepEqual(state.header?.headers, [
          ['X-Canary', 'yes'],
          ['traceparent', '00-abc-def-01'],
        ]);
      });
    }

    it('keeps the method from the message when a header is also named "method"', () => {
      const bytes = addRequest('header-binary', { headers: { method: 'spoofed' } });
      const { message } = decodeOne(createThriftCodec(), bytes);
      assert.equal(message.metadata.get('method'), 'add');
    });
  });

  describe('THeader from Python thrift', function () {
    before(function () {
      if (!pythonThriftAvailable()) this.skip();
    });

    for (const protocol of ['binary', 'compact'] as const) {
      it(`decodes a ${protocol} THeader call written by Python, headers included`, () => {
        const bytes = pythonHeaderRequest({ method: 'add', args: [7, 8], protocol, headers: { 'X-Version': 'v2', tenant: 'acme' }, seqid: 42 });
        const codec = createThriftCodec();
        const { message, consumed } = decodeOne(codec, bytes);
        assert.equal(consumed, bytes.length);
        assert.equal(message.type, 'request');
        assert.equal(message.requestId, 42);
        assert.equal(message.metadata.get('method'), 'add');
        assert.equal(message.metadata.get('x-version'), 'v2');
        assert.equal(message.metadata.get('tenant'), 'acme');
        assert.deepEqual({ ...codec.format }, { transport: 'header', protocol });
      });
    }

    it('decodes a zlib-transformed THeader frame (theader-zlib.test.ts has the rest)', () => {
      const bytes = pythonHeaderRequest({ method: 'add', args: [1, 2], protocol: 'binary', transforms: [1] });
      const decoded = createThriftCodec().decode(bytes, 'request');
      assert.equal(decoded.status, 'done');
      assert.equal((decoded as { message: Message }).message.metadata.get('method'), 'add');
    });
  });
});
