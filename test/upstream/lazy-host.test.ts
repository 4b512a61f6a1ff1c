// Issue 22: an upstream host that was never called carries no connection
// state (pool, sets, maps, backoff); its first call or warm-up makes it, and
// from then on the host behaves as before. Hosts that were never used still
// retire, revive and close as the others do.
import { strict as assert } from 'node:assert';
import { MeshErrorCode, type Message } from 'meta-mesh';
import { UpstreamPool } from 'meta-mesh/experimental';
import { echoCodecFactory, echoFrame, EchoCodec, payloadOf, startEchoServer } from '../support/echo-protocol';
import { freePort } from '../support/free-port';

const TRANSPORT = { connectTimeoutMs: 2_000 };

function request(payload: string): Message {
  return (new EchoCodec().decode(echoFrame(1, 1, 'echo', payload)) as { message: Message }).message;
}

const NONE = { has: (): boolean => false };

describe('Upstream hosts made without connection state', function () {
  this.timeout(10_000);
  let echo: Awaited<ReturnType<typeof startEchoServer>>;
  let pool: UpstreamPool;
  before(async () => {
    echo = await startEchoServer();
  });
  after(() => {
    for (const s of echo.sockets) s.destroy();
    echo.server.close();
  });
  beforeEach(() => {
    pool = new UpstreamPool({ connectionsPerEndpoint: 1 });
  });
  afterEach(() => pool.close());

  it('a host never called has no connection state and reports no connections', () => {
    const host = pool.acquire(echoCodecFactory, '127.0.0.1', echo.port, TRANSPORT, false);
    assert.equal(host.hasConnectionState, false);
    assert.equal(host.connectionCount, 0);
    assert.equal(host.isReady, false);
    assert.equal(host.idleClosed, 0);
    assert.equal(host.isGone, false);
    // Acquiring it again (a new snapshot naming the endpoint) makes none either.
    assert.equal(pool.acquire(echoCodecFactory, '127.0.0.1', echo.port, { connectTimeoutMs: 1_000 }, false), host);
    assert.equal(host.hasConnectionState, false);
  });

  for (const multiplexing of [false, true]) {
    it(`the first call makes the state and the host works as before (multiplexing: ${multiplexing})`, async () => {
      const before = echo.sockets.size;
      const host = pool.acquire(echoCodecFactory, '127.0.0.1', echo.port, TRANSPORT, multiplexing);
      const reply = await host.send(request('one'), undefined, 2_000, true);
      assert.equal(host.hasConnectionState, true);
      assert.equal(payloadOf(reply!), 'one');
      assert.equal(host.connectionCount, 1);
      assert.equal(host.isReady, true);
      // The second call reuses the connection.
      assert.equal(payloadOf((await host.send(request('two'), undefined, 2_000, true))!), 'two');
      assert.equal(host.connectionCount, 1);
      assert.equal(echo.sockets.size, before + 1);
    });
  }

  it('warm() makes the state and opens a connection ahead of the first call', async () => {
    const host = pool.acquire(echoCodecFactory, '127.0.0.1', echo.port, TRANSPORT, false);
    await host.warm();
    assert.equal(host.hasConnectionState, true);
    assert.equal(host.connectionCount, 1);
    assert.equal(host.isReady, true);
  });

  it('a host never called retires as gone at once, and closes, without making any state', () => {
    const host = pool.acquire(echoCodecFactory, '127.0.0.1', echo.port, TRANSPORT, false);
    pool.retain(NONE);
    assert.equal(host.isRetired, true);
    assert.equal(host.isGone, true);
    assert.equal(pool.size, 0);
    host.close();
    assert.equal(host.isClosed, true);
    assert.equal(host.hasConnectionState, false);
  });

  it('a host retired before its first call still serves a call picked on an older snapshot, then its connection closes', async () => {
    const host = pool.acquire(echoCodecFactory, '127.0.0.1', echo.port, TRANSPORT, true);
    pool.retain(NONE);
    const reply = await host.send(request('late'), undefined, 2_000, true);
    assert.equal(payloadOf(reply!), 'late');
    // Retired: the connection drains once its call is answered, as it would have on a host that had its state from the start.
    await waitFor(() => host.isGone);
    assert.equal(host.connectionCount, 0);
  });

  for (const used of [false, true]) {
    it(`a retired host with no idle connection still serves a call picked on an older snapshot, one call per connection (${used ? 'used before' : 'never used'})`, async () => {
      const host = pool.acquire(echoCodecFactory, '127.0.0.1', echo.port, TRANSPORT, false);
      if (used) {
        assert.equal(payloadOf((await host.send(request('before'), undefined, 2_000, true))!), 'before');
        pool.retain(NONE); // its idle connection closes at once
        await waitFor(() => host.connectionCount === 0);
      } else {
        pool.retain(NONE);
      }
      assert.equal(host.isRetired, true);
      // Draining keeps no connection, but a call already routed here is served on one opened for it, then closed.
      assert.equal(payloadOf((await host.send(request('late'), undefined, 2_000, true))!), 'late');
      await waitFor(() => host.isGone);
      assert.equal(host.connectionCount, 0);
    });
  }

  it('a host retired and revived before its first call keeps its connection after a call', async () => {
    const host = pool.acquire(echoCodecFactory, '127.0.0.1', echo.port, TRANSPORT, false);
    pool.retain(NONE);
    assert.equal(pool.acquire(echoCodecFactory, '127.0.0.1', echo.port, TRANSPORT, false), host);
    assert.equal(host.isRetired, false);
    assert.equal(payloadOf((await host.send(request('back'), undefined, 2_000, true))!), 'back');
    assert.equal(host.connectionCount, 1);
    assert.equal(host.isReady, true);
  });

  it('keys hosts by protocol, connection model, port and address: each endpoint one host, retired by address and port', () => {
    const a = pool.acquire(echoCodecFactory, '127.0.0.1', 1001, TRANSPORT, false);
    const b = pool.acquire(echoCodecFactory, '127.0.0.1', 1002, TRANSPORT, false);
    const c = pool.acquire(echoCodecFactory, '127.0.0.2', 1001, TRANSPORT, false);
    const d = pool.acquire(echoCodecFactory, '127.0.0.1', 1001, TRANSPORT, true);
    assert.equal(new Set([a, b, c, d]).size, 4);
    assert.equal(pool.size, 4);
    // The same endpoint again, with an address string built anew: the same host.
    assert.equal(pool.acquire(echoCodecFactory, ['127', '0', '0', '1'].join('.'), 1001, TRANSPORT, false), a);
    assert.equal(pool.size, 4);
    pool.retain(new Set(['127.0.0.1:1001']));
    assert.deepEqual([...pool.all()].sort((x, y) => Number(x.multiplexing) - Number(y.multiplexing)), [a, d]);
    assert.equal(pool.size, 2);
    assert.equal(b.isRetired && c.isRetired && !a.isRetired && !d.isRetired, true);
    // A retired endpoint named again gets its host back.
    assert.equal(pool.acquire(echoCodecFactory, '127.0.0.2', 1001, TRANSPORT, false), c);
    assert.equal(c.isRetired, false);
    assert.equal(pool.size, 3);
  });

  it('a connect failure on a first call backs off: the next call fails at once with the same error', async () => {
    const port = await freePort();
    const host = pool.acquire(echoCodecFactory, '127.0.0.1', port, TRANSPORT, false);
    const first = await host.send(request('x'), undefined, 2_000, true).then(
      () => assert.fail('connected to a closed port'),
      (e: unknown) => e,
    );
    assert.equal((first as { code?: string }).code, MeshErrorCode.CONNECT_FAILURE);
    const second = await host.send(request('y'), undefined, 2_000, true).then(
      () => assert.fail('connected to a closed port'),
      (e: unknown) => e,
    );
    assert.equal(second, first);
    assert.equal(host.connectionCount, 0);
  });
});

/** Waits on the sockets' own events (each poll is one macrotask turn), up to the test's timeout. */
async function waitFor(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise<void>((resolve) => setImmediate(resolve));
}
