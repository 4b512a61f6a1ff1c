// Bytes the codec must survive: every truncation of real messages, chunked
// input, garbage and fuzzed input, oversized frames, format switches and
// hostile nesting. The only acceptable outcomes are a message, "more", or a
// CODEC MeshError that says what is wrong.
import assert from 'node:assert/strict';
import { mulberry32 } from '../../support/mulberry32';
import { FrameReader, MeshError, type Message } from '../../../lib/protocol';
import { createThriftCodec, type ThriftCodec } from '../../../adapters/thrift/codec';
import { allTypesMessage } from './support/all-types';
import { addRequest, captureRequests, serve, STACKS, type Stack } from './support/thrift-wire';
import { pythonHeaderRequest, pythonThriftAvailable } from './support/python-thrift';

function isCodecError(err: unknown, pattern?: RegExp): boolean {
  return err instanceof MeshError && err.code === 'CODEC' && (pattern === undefined || pattern.test(err.message));
}

// A deterministic PRNG so fuzz failures reproduce.
const prng = mulberry32;

/** Runs decode and classifies the outcome, failing on anything but the three allowed ones. */
function outcome(codec: ThriftCodec, buf: Buffer): 'more' | 'done' | 'codec-error' {
  try {
    const result = codec.decode(buf, 'request');
    if (result.status === 'done') {
      assert.ok(result.consumed > 0 && result.consumed <= buf.length, 'consumed within the buffer');
      return 'done';
    }
    return 'more';
  } catch (err) {
    assert.ok(isCodecError(err), `expected a CODEC MeshError, got ${String(err)}`);
    return 'codec-error';
  }
}

async function samples(): Promise<Array<[string, Buffer]>> {
  const out: Array<[string, Buffer]> = [];
  for (const stack of STACKS) {
    out.push([`${stack} add`, addRequest(stack, { headers: { k: 'v' } })]);
    out.push([`${stack} multiplexed`, addRequest(stack, { service: 'Calc' })]);
    out.push([`${stack} echo`, captureRequests(stack, (c) => c.echo('e'.repeat(300)))[0]!]);
    out.push([`${stack} reply`, (await serve(stack, addRequest(stack))).reply!]);
  }
  out.push(['binary all types', allTypesMessage('binary')]);
  out.push(['compact all types', allTypesMessage('compact')]);
  if (pythonThriftAvailable()) {
    out.push(['python header compact', pythonHeaderRequest({ method: 'add', args: [1, 2], protocol: 'compact', headers: { a: 'b' } })]);
  }
  return out;
}

describe('ThriftCodec robustness', () => {
  let all: Array<[string, Buffer]> = [];
  before(async () => {
    all = await samples();
  });

  it('asks for more at every truncation of every real message, with a correct lower bound', () => {
    for (const [name, bytes] of all) {
      for (let len = 0; len < bytes.length; len++) {
        const result = createThriftCodec().decode(bytes.subarray(0, len), 'request');
        assert.equal(result.status, 'more', `${name} cut at ${len}`);
        if (result.status === 'more' && result.needed !== undefined) {
          assert.ok(result.needed > len && result.needed <= bytes.length, `${name} cut at ${len}: needed ${result.needed}`);
        }
      }
      const whole = createThriftCodec().decode(bytes, 'request');
      assert.equal(whole.status === 'done' && whole.consumed, bytes.length, name);
    }
  });

  it('skips every Thrift type in unframed binary and compact messages', () => {
    for (const protocol of ['binary', 'compact'] as const) {
      const bytes = allTypesMessage(protocol);
      const result = createThriftCodec().decode(Buffer.concat([bytes, Buffer.from([0xff])]), 'request');
      assert.equal(result.status === 'done' && result.consumed, bytes.length, protocol);
      assert.equal(result.status === 'done' && result.message.metadata.get('method'), 'everything');
    }
  });

  it('frames the same messages from 1-byte chunks through FrameReader', () => {
    for (const stack of STACKS) {
      const sent = captureRequests(stack, (c) => [c.add(1, 2), c.echo('z'.repeat(1000)), c.record('r'), c.version()], { service: 'Calc' });
      const stream = Buffer.concat(sent);
      const reader = new FrameReader(createThriftCodec(), 'request');
      const got: Message[] = [];
      for (let i = 0; i < stream.length; i++) reader.push(stream.subarray(i, i + 1), (m) => got.push(m));
      assert.deepEqual(
        got.map((m) => [m.operationName, m.requestId, m.type]),
        [
          ['Calc/add', 1, 'request'],
          ['Calc/echo', 2, 'request'],
          ['Calc/record', 3, 'oneway'],
          ['Calc/version', 4, 'request'],
        ],
        stack,
      );
      assert.deepEqual(got.map((m) => Buffer.from(m.frame)), sent, stack);
      assert.equal(reader.buffered, 0);
    }
  });

  it('names HTTP when an HTTP request arrives', () => {
    const http = Buffer.from('GET / HTTP/1.1\r\nHost: example\r\n\r\n');
    assert.throws(() => createThriftCodec().decode(http, 'request'), (err: unknown) => isCodecError(err, /47 45 54 20 2f.*looks like HTTP/));
  });

  it('rejects bytes that are not Thrift, showing them in hex', () => {
    for (const bytes of [Buffer.from('hello world, this is text'), Buffer.from([0x80, 0x02, 0, 1]), Buffer.from([0x82, 0x02, 0, 0]), Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01])]) {
      assert.throws(() => createThriftCodec().decode(bytes, 'request'), (err: unknown) => isCodecError(err, /first bytes [0-9a-f ]+/), bytes.toString('hex'));
    }
  });

  it('gives only a message, more, or a CODEC error for random bytes', () => {
    const rand = prng(1234);
    const seen = new Set<string>();
    for (let i = 0; i < 5000; i++) {
      const buf = Buffer.alloc(1 + Math.floor(rand() * 64));
      for (let j = 0; j < buf.length; j++) buf[j] = Math.floor(rand() * 256);
      // Half the time start like Thrift so the fuzz reaches past format detection.
      if (i % 2 === 0 && buf.length > 2) {
        const starts = [[0x80, 0x01], [0x82, 0x21], [0, 0, 0, 20, 0x80, 0x01], [0, 0, 0, 30, 0x0f, 0xff], [0, 0, 0, 12, 0x82, 0x21]];
        Buffer.from(starts[i % starts.length]!).copy(buf);
      }
      seen.add(outcome(createThriftCodec(), buf));
    }
    assert.ok(seen.has('codec-error') && seen.has('more'));
  });

  it('gives only a message, more, or a CODEC error for real messages with corrupted bytes', () => {
    const rand = prng(99);
    for (const [, bytes] of all) {
      for (let i = 0; i < 300; i++) {
        const buf = Buffer.from(bytes);
        const flips = 1 + Math.floor(rand() * 3);
        for (let f = 0; f < flips; f++) buf[Math.floor(rand() * buf.length)] = Math.floor(rand() * 256);
        outcome(createThriftCodec(), buf.subarray(0, Math.floor(rand() * (buf.length + 1))));
      }
    }
  });

  it('refuses a frame over maxFrameSize, naming the size, the limit and the option', () => {
    for (const stack of ['framed-binary', 'header-compact'] as Stack[]) {
      const [bytes] = captureRequests(stack, (c) => c.echo('x'.repeat(5000)));
      const head = bytes!.subarray(0, 16);
      assert.throws(
        () => createThriftCodec({ maxFrameSize: 4096 }).decode(head, 'request'),
        (err: unknown) => isCodecError(err, new RegExp(`${bytes!.length - 4} bytes exceeds maxFrameSize \\(4096 bytes\\).*maxFrameSize`)),
        stack,
      );
    }
  });

  it('refuses an unframed message over maxFrameSize before it has all arrived', () => {
    for (const stack of ['buffered-binary', 'buffered-compact'] as Stack[]) {
      const [bytes] = captureRequests(stack, (c) => c.echo('x'.repeat(5000)));
      assert.throws(
        () => createThriftCodec({ maxFrameSize: 4096 }).decode(bytes!.subarray(0, 64), 'request'),
        (err: unknown) => isCodecError(err, /exceeds maxFrameSize \(4096 bytes\)/),
        stack,
      );
    }
  });

  it('refuses a frame length that is garbage even with a Thrift-looking start', () => {
    const buf = Buffer.from([0x7f, 0xff, 0xff, 0xff, 0x80, 0x01, 0, 1]);
    assert.throws(() => createThriftCodec().decode(buf, 'request'), (err: unknown) => isCodecError(err, /maxFrameSize/));
  });

  it('refuses a later message in another format than the stream started with', () => {
    const codec = createThriftCodec();
    assert.equal(codec.decode(addRequest('framed-binary'), 'request').status, 'done');
    assert.throws(
      () => codec.decode(addRequest('buffered-binary'), 'request'),
      (err: unknown) => isCodecError(err, /started as framed\/binary but a later message is unframed\/binary/),
    );
    assert.throws(() => codec.decode(addRequest('framed-compact'), 'request'), (err: unknown) => isCodecError(err, /framed\/compact/));
  });

  it('refuses a message that disagrees with the configured format', () => {
    const codec = createThriftCodec({ format: { transport: 'framed', protocol: 'compact' } });
    assert.throws(
      () => codec.decode(addRequest('header-compact'), 'request'),
      (err: unknown) => isCodecError(err, /configured for framed\/compact \(options.format\) but the peer sent header/),
    );
    assert.equal(codec.decode(addRequest('framed-compact'), 'request').status, 'done');
  });

  it('accepts unframed replies on a THeader stream, as Node THeader servers send them', () => {
    const codec = createThriftCodec({ format: { transport: 'header' } });
    const reply = createThriftCodec().encodeError(undefined, new MeshError('TIMEOUT', 'x'));
    const unframed = createThriftCodec().decode(reply, 'response');
    assert.equal(unframed.status, 'done');
    if (unframed.status !== 'done') return;
    const bare = createThriftCodec().encode(unframed.message, { transport: 'unframed' });
    assert.equal(codec.decode(bare, 'response').status, 'done');
    assert.throws(() => codec.decode(bare, 'request'), (err: unknown) => isCodecError(err));
  });

  it('refuses nesting deeper than the limit instead of recursing without bound', () => {
    for (const protocol of ['binary', 'compact'] as const) {
      const head =
        protocol === 'binary'
          ? Buffer.from([0x80, 0x01, 0x00, 0x01, 0, 0, 0, 1, 0x61, 0, 0, 0, 1])
          : Buffer.from([0x82, 0x21, 0x01, 0x01, 0x61]);
      // Field 1 is a list of one list of one list ... 200 deep.
      const nest =
        protocol === 'binary'
          ? Buffer.concat([Buffer.from([15, 0, 1]), ...Array.from({ length: 200 }, () => Buffer.from([15, 0, 0, 0, 1]))])
          : Buffer.concat([Buffer.from([0x19]), ...Array.from({ length: 200 }, () => Buffer.from([0x19]))]);
      assert.throws(
        () => createThriftCodec().decode(Buffer.concat([head, nest]), 'request'),
        (err: unknown) => isCodecError(err, /nest deeper than 64/),
        protocol,
      );
    }
  });

  it('refuses a collection count that can never fit in maxFrameSize', () => {
    // Binary list<i64> claiming 2^30 elements.
    const buf = Buffer.from([0x80, 0x01, 0x00, 0x01, 0, 0, 0, 1, 0x61, 0, 0, 0, 1, 15, 0, 1, 10, 0x40, 0, 0, 0]);
    assert.throws(() => createThriftCodec().decode(buf, 'request'), (err: unknown) => isCodecError(err, /maxFrameSize/));
  });

  it('decodes a hand-built old non-strict binary call', () => {
    // i32 name length, name, i8 type, i32 seqid, then an empty args struct.
    const buf = Buffer.from([0, 0, 0, 3, 0x61, 0x64, 0x64, 1, 0, 0, 0, 7, 0]);
    const result = createThriftCodec().decode(buf, 'request');
    assert.equal(result.status === 'done' && result.message.requestId, 7);
    assert.equal(result.status === 'done' && result.message.metadata.get('method'), 'add');
    const reEncoded = createThriftCodec().encode((result as { message: Message }).message, { requestId: 8 });
    assert.deepEqual(reEncoded, Buffer.from([0, 0, 0, 3, 0x61, 0x64, 0x64, 1, 0, 0, 0, 8, 0]));
  });

  it('reports a void reply (empty result struct) as ok', () => {
    const reply = Buffer.from([0x80, 0x01, 0x00, 0x02, 0, 0, 0, 1, 0x66, 0, 0, 0, 1, 0]);
    const result = createThriftCodec().decode(reply, 'response');
    assert.equal(result.status === 'done' && result.message.ok, true);
  });
});
