import { strict as assert } from 'node:assert';
import * as net from 'node:net';
import { UpstreamConnection } from 'meta-mesh/experimental';
import { createDubboCodec } from 'meta-mesh/dubbo';

/** A dubbo2 heartbeat request: magic, flags request|two-way|event|hessian2, id, body "N" (null). */
function heartbeatRequest(id: number): Buffer {
  const frame = Buffer.alloc(17);
  frame.writeUInt16BE(0xdabb, 0);
  frame[2] = 0xe2;
  frame.writeBigInt64BE(BigInt(id), 4);
  frame.writeUInt32BE(1, 12);
  frame[16] = 0x4e;
  return frame;
}

describe('upstream connections and provider heartbeats', () => {
  it('answers a heartbeat a Dubbo provider sends on an idle upstream connection', async () => {
    let peer: net.Socket | undefined;
    const received: Buffer[] = [];
    const server = net.createServer((s) => {
      peer = s;
      s.on('data', (d: Buffer) => received.push(d));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const conn = new UpstreamConnection({ address: '127.0.0.1', port: (server.address() as net.AddressInfo).port, codec: createDubboCodec(), connectTimeoutMs: 2000 });
    try {
      await conn.connect();
      for (let i = 0; i < 100 && peer === undefined; i++) await new Promise((r) => setTimeout(r, 5));
      peer!.write(heartbeatRequest(77));
      for (let i = 0; i < 100 && received.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
      const reply = Buffer.concat(received);
      assert.equal(reply.readUInt16BE(0), 0xdabb);
      assert.equal(reply[2]! & 0x80, 0, 'the reply must not be a request');
      assert.equal(reply[2]! & 0x20, 0x20, 'the reply must be an event');
      assert.equal(reply.readBigInt64BE(4), 77n);
      assert.equal(conn.isClosed, false);
    } finally {
      conn.close();
      server.close();
    }
  });
});
