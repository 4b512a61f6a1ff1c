// A reply with the call's seqid but another method's name fails the call at
// once with the reference library's WRONG_METHOD_NAME error; before, deliver()
// counted it and returned, and the call waited forever (or until its deadline).
// The upstream is a real TCP server speaking framed binary Thrift that answers
// every call under a name of the test's choosing.
import { strict as assert } from 'node:assert';
import * as net from 'node:net';
import * as thrift from 'thrift';
import type { Mesh } from 'meta-mesh';
import { calculatorClient, clientMesh } from './support';

/** Answers each framed binary call with a reply named `replyName`, the call's seqid and an i32 result of 42. */
async function misnamingServer(replyName: string): Promise<{ port: number; close: () => Promise<void> }> {
  const server = net.createServer((socket) => {
    let buf = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
        const frame = buf.subarray(4, 4 + buf.readUInt32BE(0));
        buf = buf.subarray(4 + frame.length);
        const nameLength = frame.readUInt32BE(4);
        const seqid = frame.readInt32BE(8 + nameLength);
        const name = Buffer.from(replyName);
        const body = Buffer.alloc(4 + 4 + name.length + 4 + 3 + 4 + 1);
        let at = body.writeUInt32BE(0x80010002, 0); // strict binary, REPLY
        at = body.writeUInt32BE(name.length, at);
        at += name.copy(body, at);
        at = body.writeInt32BE(seqid, at);
        at = body.writeUInt8(8, at); // field 0 (success): i32
        at = body.writeInt16BE(0, at);
        at = body.writeInt32BE(42, at);
        body.writeUInt8(0, at); // stop
        const size = Buffer.alloc(4);
        size.writeUInt32BE(body.length);
        socket.write(Buffer.concat([size, body]));
      }
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('Thrift client: a reply named after another method', function () {
  this.timeout(20_000);
  let mesh: Mesh | undefined;
  let upstream: { port: number; close: () => Promise<void> } | undefined;
  afterEach(async () => {
    await mesh?.close();
    await upstream?.close();
    mesh = undefined;
    upstream = undefined;
  });

  for (const replyName of ['nosuchmethod', 'subtract']) {
    it(`fails the call at once with WRONG_METHOD_NAME when the reply to add is named '${replyName}'`, async () => {
      upstream = await misnamingServer(replyName);
      ({ mesh } = await clientMesh([{ port: upstream.port, version: 'v1' }]));
      const { client } = calculatorClient(mesh, { transport: 'framed', timeoutMs: 60_000 });
      const started = Date.now();
      await assert.rejects(client.add(1, 2), (err: unknown) => {
        assert.ok(err instanceof thrift.Thrift.TApplicationException, `got ${String(err)}`);
        assert.equal((err as { type?: number }).type, thrift.Thrift.TApplicationExceptionType.WRONG_METHOD_NAME);
        assert.match((err as Error).message, new RegExp(`reply to 'add' .* is named '${replyName}'`));
        return true;
      });
      assert.ok(Date.now() - started < 10_000, 'failed at once, not at the 60 s deadline');
    });
  }

  it('still takes a correctly named reply from the same server shape', async () => {
    upstream = await misnamingServer('add');
    ({ mesh } = await clientMesh([{ port: upstream.port, version: 'v1' }]));
    const { client } = calculatorClient(mesh, { transport: 'framed' });
    assert.equal(await client.add(1, 2), 42);
  });
});
