// The meta-mesh Dubbo provider on the wire: heartbeats, unknown services and
// methods, and bytes that are not dubbo2, seen from a raw socket.
import * as assert from 'node:assert/strict';
import * as net from 'node:net';
import { createDubboCodec, type DubboServer } from 'meta-mesh/dubbo';
import { dubboJsHeartbeat } from './dubbo-js-capture';
import { startFleet, type Fleet } from './support';

/* eslint-disable @typescript-eslint/no-require-imports */
const hessian = require('hessian.js') as { EncoderV2: new () => { write(v: unknown): unknown; get(): Buffer } };
/* eslint-enable @typescript-eslint/no-require-imports */

function request(iface: string, method: string, id: number): Buffer {
  const e = new hessian.EncoderV2();
  for (const v of ['2.0.2', iface, '1.0.0', method, 'Ljava/lang/String;', 'x', { $class: 'java.util.HashMap', $: { interface: iface } }]) e.write(v);
  const body = e.get();
  const h = Buffer.from([0xda, 0xbb, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  h.writeUInt32BE(id, 8);
  h.writeUInt32BE(body.length, 12);
  return Buffer.concat([h, body]);
}

/** Writes `bytes` and resolves with the first whole frame the server sends back (or what came before it closed). */
function exchange(server: DubboServer, bytes: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(server.port, '127.0.0.1', () => socket.write(bytes));
    let got = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      got = Buffer.concat([got, chunk]);
      if (got.length >= 16 && got.length >= 16 + got.readUInt32BE(12)) {
        socket.destroy();
        resolve(got);
      }
    });
    socket.on('close', () => resolve(got));
    socket.on('error', reject);
  });
}

describe('dubbo provider', () => {
  let fleet: Fleet;
  before(async () => {
    fleet = await startFleet(['v1']);
  });
  after(() => fleet.close());

  it('answers a heartbeat with an event response of the same id', async () => {
    const beat = dubboJsHeartbeat.encode();
    beat.writeUInt32BE(77, 8);
    const reply = await exchange(fleet.servers.v1!, beat);
    assert.ok(dubboJsHeartbeat.isHeartBeat(reply));
    assert.equal(reply.readUInt32BE(8), 77);
    assert.equal(reply[3], 20);
  });

  it('answers an unknown service or method with SERVICE_ERROR (70) naming what it serves', async () => {
    const codec = createDubboCodec();
    const noService = await exchange(fleet.servers.v1!, request('org.example.Missing', 'sayHello', 5));
    const m1 = codec.decode(noService, 'response');
    assert.ok(m1.status === 'done');
    assert.equal(noService[3], 70);
    assert.equal(m1.message.requestId, 5);
    assert.match(codec.errorText(m1.message), /no service org\.example\.Missing here; it serves org\.example\.DemoService/);
    const noMethod = await exchange(fleet.servers.v1!, request('org.example.DemoService', 'toString', 6));
    const m2 = codec.decode(noMethod, 'response');
    assert.ok(m2.status === 'done');
    assert.match(codec.errorText(m2.message), /has no method toString; it has sayHello, add, fail, nothing/);
  });

  it('answers bytes that are not dubbo2 with BAD_REQUEST (40) and closes the connection', async () => {
    const reply = await exchange(fleet.servers.v1!, Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    assert.equal(reply[3], 40);
    const codec = createDubboCodec();
    const m = codec.decode(reply, 'response');
    assert.ok(m.status === 'done');
    assert.match(codec.errorText(m.message), /\[meta-mesh CODEC\] dubbo codec: the bytes start with 0x4745, not the dubbo magic/);
  });
});
