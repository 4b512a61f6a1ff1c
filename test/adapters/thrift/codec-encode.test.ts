// Encoding: seqid rewrites, THeader header mutations and re-framing into
// another transport, each checked by parsing the output with the real Node
// thrift library (and Python's for THeader).
import assert from 'node:assert/strict';
import { MeshError } from '../../../lib/protocol';
import {
  createThriftCodec,
  ThriftFrameState,
  thriftPayload,
  type ThriftTransport,
} from '../../../adapters/thrift/codec';
import { addRequest, captureRequests, formatOf, receiveReply, serve, STACKS, type Stack } from './support/thrift-wire';
import { pythonParseRequest, pythonThriftAvailable } from './support/python-thrift';

function decode(bytes: Buffer, direction: 'request' | 'response' = 'request') {
  const result = createThriftCodec().decode(bytes, direction);
  if (result.status !== 'done') throw new Error('expected a whole message');
  return result.message;
}

/** The client stack that speaks `transport` with the stack's protocol. */
function stackFor(transport: ThriftTransport, protocol: string): Stack {
  return `${transport === 'unframed' ? 'buffered' : transport}-${protocol}` as Stack;
}

describe('ThriftCodec encode', () => {
  for (const stack of STACKS) {
    const { protocol } = formatOf(stack);
    describe(stack, () => {
      it('rewrites the seqid; the real library reads method, seqid and args', async () => {
        const message = decode(addRequest(stack));
        const encoded = createThriftCodec().encode(message, { requestId: 77 });
        const served = await serve(stack, encoded);
        assert.equal(served.fname, 'add');
        assert.equal(served.seqid, 77);
        assert.deepEqual(served.calls, [{ method: 'add', args: [2, 3] }]);
      });

      it('handles seqids whose varint is longer or shorter than the original', async () => {
        const [first, second] = captureRequests(stack, (c) => [c.add(1, 1), c.echo('seq')]);
        void first;
        const message = decode(second!);
        for (const seq of [300_000, 0x7fffffff, 1, 0]) {
          const served = await serve(stack, createThriftCodec().encode(message, { requestId: seq }));
          assert.equal(served.seqid, seq);
          assert.deepEqual(served.calls, [{ method: 'echo', args: ['seq'] }]);
        }
      });

      it('never changes the decoded frame', () => {
        const bytes = addRequest(stack, { headers: { a: '1' } });
        const message = decode(bytes);
        const before = Buffer.from(message.frame);
        const codec = createThriftCodec();
        for (const transport of ['framed', 'unframed', 'header'] as const) {
          codec.encode(message, { requestId: 123456, mutation: new Map([['x', 'y']]), transport });
        }
        assert.deepEqual(message.frame, before);
      });

      for (const transport of ['framed', 'unframed', 'header'] as const) {
        it(`re-frames into ${transport} with a new seqid; the real library reads it`, async () => {
          const source = addRequest(stack, { headers: { origin: 'client' } });
          const message = decode(source);
          const mutation = new Map([['x-route', 'v2']]);
          const encoded = createThriftCodec().encode(message, { requestId: 9, mutation, transport });
          const target = stackFor(transport, protocol);
          assert.deepEqual({ ...ThriftFrameState.of(decode(encoded)).format }, formatOf(target));
          const served = await serve(target, encoded);
          assert.equal(served.fname, 'add');
          assert.equal(served.seqid, 9);
          assert.deepEqual(served.calls, [{ method: 'add', args: [2, 3] }]);
          if (transport === 'header') {
            const expected: Record<string, string> = stack.startsWith('header') ? { origin: 'client' } : {};
            expected['x-route'] = 'v2';
            assert.deepEqual(served.headers, expected);
          }
        });
      }

      it('keeps a multiplexed name through a re-frame', async () => {
        const message = decode(addRequest(stack, { service: 'Calc' }));
        const encoded = createThriftCodec().encode(message, { transport: 'header', requestId: 5 });
        const decoded = decode(encoded);
        assert.equal(decoded.operationName, 'Calc/add');
        assert.equal(decoded.requestId, 5);
      });
    });
  }

  it('merges a mutation into THeader headers: replaces same keys, keeps the others', async () => {
    const message = decode(addRequest('header-binary', { headers: { 'X-Canary': 'yes', keep: '1' } }));
    const mutation = new Map([
      ['x-canary', 'no'],
      ['added', 'new'],
    ]);
    const encoded = createThriftCodec().encode(message, { mutation });
    assert.deepEqual(ThriftFrameState.of(decode(encoded)).header?.headers, [
      ['x-canary', 'no'],
      ['keep', '1'],
      ['added', 'new'],
    ]);
    const served = await serve('header-binary', encoded);
    assert.deepEqual(served.headers, { 'x-canary': 'no', keep: '1', added: 'new' });
    assert.equal(served.seqid, 1);
  });

  it('writes a new seqid into both the THeader header and the message', () => {
    const message = decode(addRequest('header-compact'));
    const encoded = createThriftCodec().encode(message, { requestId: 4242 });
    const state = ThriftFrameState.of(decode(encoded));
    assert.equal(state.header?.seqid, 4242);
    assert.equal(state.seqid, 4242);
  });

  it('ignores a mutation for framed and unframed messages', () => {
    for (const stack of ['framed-binary', 'buffered-compact'] as Stack[]) {
      const bytes = addRequest(stack);
      const encoded = createThriftCodec().encode(decode(bytes), { mutation: new Map([['x', 'y']]) });
      assert.deepEqual(encoded, bytes);
    }
  });

  it('takes bigint request ids, wrapped to 32 bits', () => {
    const message = decode(addRequest('framed-binary'));
    assert.equal(decode(createThriftCodec().encode(message, { requestId: 12n })).requestId, 12);
    assert.equal(decode(createThriftCodec().encode(message, { requestId: 2n ** 32n + 3n })).requestId, 3);
  });

  it('re-frames into the transport fixed in the codec options when the call names none', () => {
    const message = decode(addRequest('buffered-binary'));
    const encoded = createThriftCodec({ format: { transport: 'header' } }).encode(message);
    assert.equal(ThriftFrameState.of(decode(encoded)).format.transport, 'header');
  });

  it('exposes the bare payload of a framed message', () => {
    const bytes = addRequest('header-binary', { headers: { a: 'b' } });
    const payload = thriftPayload(decode(bytes));
    assert.deepEqual(payload, addRequest('buffered-binary'));
  });

  it('refuses to encode a message it did not decode', () => {
    const foreign = { type: 'request', requestId: 1, metadata: decode(addRequest('framed-binary')).metadata, frame: Buffer.alloc(4), operationName: 'x' } as const;
    assert.throws(() => createThriftCodec().encode(foreign), (err: unknown) => err instanceof MeshError && err.code === 'CODEC');
  });

  describe('replies back to clients', () => {
    for (const target of ['framed-binary', 'buffered-binary'] as Stack[]) {
      it(`turns a THeader reply into ${target} that a real client accepts`, async () => {
        const served = await serve('header-binary', addRequest('header-binary'));
        const reply = decode(served.reply!, 'response');
        assert.equal(ThriftFrameState.of(reply).format.transport, 'header');
        const outcome = await receiveReply(target, (c) => c.add(2, 3), (request) => {
          const requestId = decode(request).requestId;
          return createThriftCodec().encode(reply, { transport: formatOf(target).transport as ThriftTransport, requestId });
        });
        assert.deepEqual(outcome, { value: 5 });
      });
    }

    it('turns a framed reply into THeader that a real THeader client accepts', async () => {
      const served = await serve('framed-compact', addRequest('framed-compact'));
      const reply = decode(served.reply!, 'response');
      const outcome = await receiveReply('header-compact', (c) => c.add(2, 3), () =>
        createThriftCodec().encode(reply, { transport: 'header' }),
      );
      assert.deepEqual(outcome, { value: 5 });
    });
  });

  describe('THeader output read by Python thrift', function () {
    before(function () {
      if (!pythonThriftAvailable()) this.skip();
    });

    for (const stack of ['buffered-binary', 'framed-compact', 'header-binary'] as Stack[]) {
      it(`Python reads a ${stack} call re-framed as THeader with mutation headers`, () => {
        const message = decode(addRequest(stack, { headers: { origin: 'node' } }));
        const encoded = createThriftCodec().encode(message, {
          transport: 'header',
          requestId: 31,
          mutation: new Map([['x-request-id', 'abc-123']]),
        });
        const parsed = pythonParseRequest(encoded);
        assert.equal(parsed.fname, 'add');
        assert.equal(parsed.seqid, 31);
        assert.deepEqual(parsed.args, { a: 2, b: 3 });
        const expected: Record<string, string> = stack === 'header-binary' ? { origin: 'node' } : {};
        expected['x-request-id'] = 'abc-123';
        assert.deepEqual(parsed.headers, expected);
      });
    }
  });
});
