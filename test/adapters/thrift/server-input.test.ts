import { strict as assert } from 'node:assert';
import * as net from 'node:net';
import * as thrift from 'thrift';
import { Mesh } from 'meta-mesh';
import { createThriftCodec, createThriftServer, type ThriftServer } from 'meta-mesh/thrift';
import { calculatorHandler } from '../../../examples/thrift-canary/servers';
import { Calculator } from './support';

/** Sends raw bytes and collects what comes back until the server closes (or 2 s pass). */
function rawExchange(port: number, bytes: Buffer): Promise<{ reply: Buffer; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ reply: Buffer.concat(chunks), closed: false });
    }, 2000);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ reply: Buffer.concat(chunks), closed: true });
    });
    socket.on('error', () => undefined);
    socket.write(bytes);
  });
}

describe('Thrift server facing bad input', function () {
  this.timeout(30_000);
  let mesh: Mesh;
  let server: ThriftServer;
  let port: number;
  before(async () => {
    mesh = await Mesh.start();
    server = createThriftServer(mesh, Calculator, calculatorHandler('v1'), { maxFrameSize: 1024 });
    port = await server.listen(0);
  });
  after(() => mesh.close());

  it('answers garbage with a protocol error that says what it saw, then hangs up', async () => {
    const { reply, closed } = await rawExchange(port, Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    assert.equal(closed, true);
    const decoded = createThriftCodec().decode(reply, 'response');
    assert.equal(decoded.status, 'done');
    assert.equal((decoded as { message: { type: string } }).message.type, 'error');
    assert.match(reply.toString('latin1'), /looks like HTTP/);
  });

  it('refuses a frame above maxFrameSize with an error naming the limit', async () => {
    const header = Buffer.alloc(8);
    header.writeUInt32BE(1_000_000, 0);
    header.writeUInt16BE(0x8001, 4);
    const { reply, closed } = await rawExchange(port, header);
    assert.equal(closed, true);
    assert.match(reply.toString('latin1'), /maxFrameSize/);
    assert.match(reply.toString('latin1'), /1024/);
  });

  it('keeps serving other clients while one sends garbage', async () => {
    const conn = thrift.createConnection('127.0.0.1', port, { transport: thrift.TBufferedTransport, protocol: thrift.TBinaryProtocol });
    conn.on('error', () => undefined);
    const client = thrift.createClient(Calculator, conn);
    try {
      const garbage = Array.from({ length: 20 }, () => rawExchange(port, Buffer.from([0x13, 0x37, 0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3])));
      const sums = await Promise.all(Array.from({ length: 50 }, (_, i) => client.add(i, 1)));
      assert.deepEqual(sums, Array.from({ length: 50 }, (_, i) => i + 1));
      for (const g of await Promise.all(garbage)) assert.equal(g.closed, true);
    } finally {
      conn.end();
    }
  });
});
