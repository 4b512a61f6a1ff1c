import { strict as assert } from 'node:assert';
import * as net from 'node:net';
import { MeshError, type Message } from 'meta-mesh';
import { UpstreamConnection } from 'meta-mesh/experimental';
import { EchoCodec, echoFrame, payloadOf, startEchoServer } from '../support/echo-protocol';

/** Resolves once `done()` holds, looking again after each turn of the event loop (the test's timeout bounds it). */
async function until(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((r) => setImmediate(r));
}

function request(method: string, payload: string, id = 7, kind = 1): Message {
  const r = new EchoCodec().decode(echoFrame(id, kind, method, payload));
  assert.equal(r.status, 'done');
  return (r as { message: Message }).message;
}

describe('UpstreamConnection', () => {
  let echo: Awaited<ReturnType<typeof startEchoServer>>;
  beforeEach(async () => {
    echo = await startEchoServer();
  });
  afterEach(() => {
    for (const s of echo.sockets) s.destroy();
    echo.server.close();
  });

  const connect = (port = echo.port, connectTimeoutMs = 2000) =>
    new UpstreamConnection({ address: '127.0.0.1', port, codec: new EchoCodec(), connectTimeoutMs });

  it('multiplexes concurrent calls on one socket and matches replies by id', async () => {
    const conn = connect();
    // The slow call is sent first and is never answered: the fast ones must not wait behind it.
    let slowSettled = false;
    const slow = conn.send(request('sleep', '600000'), undefined, 600_000, true).then(
      () => (slowSettled = true),
      () => (slowSettled = true),
    );
    const fast = Promise.all(
      Array.from({ length: 50 }, (_, i) => conn.send(request('echo', `m${i}`), undefined, 5000, true).then((r) => payloadOf(r!))),
    );
    const replies = await fast;
    assert.deepEqual(replies, Array.from({ length: 50 }, (_, i) => `m${i}`));
    assert.equal(slowSettled, false, 'the slow call settled before the fast ones');
    assert.equal(echo.sockets.size, 1);
    conn.close();
    await slow;
  });

  it('rewrites the request id so callers with the same id do not collide', async () => {
    const conn = connect();
    const replies = await Promise.all([
      conn.send(request('echo', 'a', 1), undefined, 5000, true),
      conn.send(request('echo', 'b', 1), undefined, 5000, true),
    ]);
    assert.deepEqual(replies.map((r) => payloadOf(r!)), ['a', 'b']);
    assert.notEqual(replies[0]!.requestId, replies[1]!.requestId);
    conn.close();
  });

  it('fails every pending call at once with UPSTREAM_RESET when the peer closes', async () => {
    const conn = connect();
    const pending = [conn.send(request('sleep', '10000'), undefined, 60_000, true), conn.send(request('sleep', '10000'), undefined, 60_000, true)];
    await until(() => echo.received.length === 2);
    const closing = conn.send(request('close', ''), undefined, 60_000, true);
    const results = await Promise.allSettled([...pending, closing]);
    for (const r of results) {
      assert.equal(r.status, 'rejected');
      assert.ok(r.reason instanceof MeshError);
      assert.equal((r.reason as MeshError).code, 'UPSTREAM_RESET');
    }
    assert.equal(conn.isClosed, true);
  });

  it('times a call out with TIMEOUT and keeps serving others', async () => {
    const conn = connect();
    const late = conn.send(request('sleep', '300'), undefined, 50, true);
    await assert.rejects(late, (e: MeshError) => e.code === 'TIMEOUT' && /within 50 ms/.test(e.message));
    const ok = await conn.send(request('echo', 'still-here'), undefined, 5000, true);
    assert.equal(payloadOf(ok!), 'still-here');
    // The late reply still comes (the server sleeps 300 ms): it is counted as stray, not delivered.
    await until(() => conn.strayReplies === 1);
    assert.equal(conn.strayReplies, 1);
    conn.close();
  });

  it('reports CONNECT_FAILURE for a port nobody listens on', async () => {
    const free = net.createServer();
    await new Promise<void>((r) => free.listen(0, '127.0.0.1', r));
    const port = (free.address() as net.AddressInfo).port;
    await new Promise<void>((r) => free.close(() => r()));
    const conn = connect(port);
    await assert.rejects(conn.send(request('echo', 'x'), undefined, 5000, true), (e: MeshError) => e.code === 'CONNECT_FAILURE' && e.message.includes(`${port}`));
  });

  it('sends oneway calls without waiting for a reply', async () => {
    const conn = connect();
    const result = await conn.send(request('log', 'one', 3, 3), undefined, 5000, false);
    assert.equal(result, undefined);
    await conn.send(request('echo', 'sync'), undefined, 5000, true);
    assert.ok(echo.received.includes('log:one'));
    conn.close();
  });

  it('fails a oneway call with CONNECT_FAILURE when its connection cannot open, so it can be retried elsewhere', async () => {
    const free = net.createServer();
    await new Promise<void>((r) => free.listen(0, '127.0.0.1', r));
    const port = (free.address() as net.AddressInfo).port;
    await new Promise<void>((r) => free.close(() => r()));
    const conn = connect(port);
    await assert.rejects(conn.send(request('log', 'lost?', 3, 3), undefined, 5000, false), (e: MeshError) => e.code === 'CONNECT_FAILURE');
  });

  it('closes a draining connection once its last call is answered', async () => {
    const conn = connect();
    const call = conn.send(request('sleep', '40'), undefined, 5000, true);
    await until(() => echo.received.includes('sleep:40'));
    conn.drain();
    assert.equal(conn.isClosed, false);
    assert.equal(payloadOf((await call)!), '40');
    assert.equal(conn.isClosed, true);
  });
});
