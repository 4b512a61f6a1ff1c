// THeader's zlib transform: inflated with node:zlib on the way in, so a
// Python THeader client that compresses its calls is routed and answered; any
// transform still refused is answered in THeader, the only framing a THeader
// client reads.
import { strict as assert } from 'node:assert';
import * as net from 'node:net';
import { deflateSync } from 'node:zlib';
import { Mesh, MeshError, type Message } from 'meta-mesh';
import { createThriftCodec, createThriftServer } from 'meta-mesh/thrift';
import * as Calculator from '../../../gen/calculator/js/Calculator';
import { calculatorHandler } from '../../../examples/thrift-canary/servers';
import { pythonHeaderRequest, pythonParseRequest, pythonReadReply, pythonThriftAvailable } from './support/python-thrift';

/** A THeader frame (binary protocol) whose header lists `transforms` and whose payload is `payload` as given. */
function headerFrame(seqid: number, transforms: number[], payload: Buffer): Buffer {
  const data = [0, transforms.length, ...transforms];
  while (data.length % 4 !== 0) data.push(0);
  const out = Buffer.alloc(14 + data.length + payload.length);
  out.writeUInt32BE(out.length - 4, 0);
  out.writeUInt16BE(0x0fff, 4);
  out.writeUInt16BE(0, 6);
  out.writeInt32BE(seqid, 8);
  out.writeUInt16BE(data.length / 4, 12);
  Buffer.from(data).copy(out, 14);
  payload.copy(out, 14 + data.length);
  return out;
}

/** Sends `bytes` to a server and resolves with the first whole frame it answers (u32 length + body). */
function exchange(port: number, bytes: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(bytes));
    let got = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      got = Buffer.concat([got, chunk]);
      if (got.length >= 4 && got.length >= 4 + got.readUInt32BE(0)) {
        socket.destroy();
        resolve(got.subarray(0, 4 + got.readUInt32BE(0)));
      }
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(`closed after ${got.length} bytes`)));
  });
}

describe('THeader zlib transform', function () {
  this.timeout(30_000);
  before(function () {
    if (!pythonThriftAvailable()) this.skip();
  });

  it('decodes a call Python compressed with zlib, and sends it on as a plain THeader frame Python reads', () => {
    const bytes = pythonHeaderRequest({ method: 'add', args: [20, 22], protocol: 'binary', headers: { 'x-tenant': 'gold' }, transforms: [1], seqid: 7 });
    const codec = createThriftCodec();
    const decoded = codec.decode(bytes, 'request');
    assert.equal(decoded.status, 'done');
    const { message, consumed } = decoded as { message: Message; consumed: number };
    assert.equal(consumed, bytes.length);
    assert.equal(message.metadata.get('method'), 'add');
    assert.equal(message.metadata.get('x-tenant'), 'gold');
    const upstream = codec.encode(message, { requestId: 9 });
    const parsed = pythonParseRequest(upstream);
    assert.equal(parsed.fname, 'add');
    assert.equal(parsed.seqid, 9);
    assert.deepEqual(parsed.args, { a: 20, b: 22 });
    assert.equal(parsed.headers['x-tenant'], 'gold');
  });

  it('answers a zlib call from Python through a meta-mesh server', async () => {
    const mesh = await Mesh.start({ logger: () => undefined });
    try {
      const server = createThriftServer(mesh, Calculator, calculatorHandler('v1'));
      const port = await server.listen(0);
      const reply = await exchange(port, pythonHeaderRequest({ method: 'add', args: [1, 2], protocol: 'compact', transforms: [1], seqid: 3 }));
      assert.deepEqual(pythonReadReply(reply, 'add'), { result: 3 });
    } finally {
      await mesh.close();
    }
  });

  it('refuses a transform it cannot apply with a THeader reply Python reads, naming the transform', async () => {
    const plain = pythonHeaderRequest({ method: 'add', args: [1, 2], protocol: 'binary', seqid: 5 });
    const payload = plain.subarray(14 + plain.readUInt16BE(12) * 4);
    // Transform 4 (QuickLZ): no implementation here.
    const refused = headerFrame(5, [4], payload);
    const codec = createThriftCodec();
    assert.throws(() => codec.decode(refused, 'request'), (err: unknown) => err instanceof MeshError && /transform 4/.test(err.message));
    const mesh = await Mesh.start({ logger: () => undefined });
    try {
      const server = createThriftServer(mesh, Calculator, calculatorHandler('v1'));
      const port = await server.listen(0);
      const reply = await exchange(port, refused);
      assert.equal(reply.readUInt16BE(4), 0x0fff, 'the refusal is not a THeader frame');
      const read = pythonReadReply(reply, 'add');
      assert.match(String(read.error), /transform 4 \(qlz\) is not supported/);
    } finally {
      await mesh.close();
    }
  });

  it('bounds what a zlib payload may inflate to by the frame limit', () => {
    const plain = pythonHeaderRequest({ method: 'echo', args: ['x'], protocol: 'binary' });
    const payload = plain.subarray(14 + plain.readUInt16BE(12) * 4);
    const bomb = Buffer.concat([payload, Buffer.alloc(4096)]);
    const codec = createThriftCodec({ maxFrameSize: 1024 });
    assert.throws(() => codec.decode(headerFrame(1, [1], deflateSync(bomb)), 'request'), /inflates past the 1024-byte frame limit/);
  });
});
