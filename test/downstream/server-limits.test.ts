// Issue 16 items 5 and 7: inbound backpressure and server limits. A client
// that never reads its replies stops being read; calls in flight per
// connection are capped; a request that does not arrive whole in time
// (slowloris), an idle connection, and connections past the cap are closed.
import { strict as assert } from 'node:assert';
import * as net from 'node:net';
import { Mesh } from 'meta-mesh';
import { type ServerLimits } from 'meta-mesh/experimental';
import { createThriftServer, type ThriftServer } from 'meta-mesh/thrift';
import { Calculator, captureRequests } from '../adapters/thrift/support/thrift-wire';

/** `n` framed/binary requests of one method, as the real generated client writes them. */
function requests(n: number, call: (c: Calculator.Client) => unknown): Buffer {
  return Buffer.concat(captureRequests('framed-binary', (c) => Array.from({ length: n }, () => call(c))));
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

const closed = (s: net.Socket): Promise<void> => new Promise((resolve) => (s.destroyed ? resolve() : s.once('close', () => resolve())));

/** Resolves once `read()` has stayed the same over a few polls (the server stopped doing anything). */
function settled(read: () => number): Promise<number> {
  return new Promise((resolve) => {
    let last = -1;
    let same = 0;
    const poll = setInterval(() => {
      const now = read();
      same = now === last ? same + 1 : 0;
      last = now;
      if (same >= 4 && now > 0) {
        clearInterval(poll);
        resolve(now);
      }
    }, 50);
  });
}

describe('Server limits', function () {
  this.timeout(30_000);
  let mesh: Mesh;
  let server: ThriftServer;
  const counts = { version: 0, sleeping: 0, maxSleeping: 0 };
  const BIG = 'v'.repeat(16 * 1024);

  async function start(limits?: ServerLimits): Promise<number> {
    mesh = await Mesh.start();
    counts.version = counts.sleeping = counts.maxSleeping = 0;
    server = createThriftServer(
      mesh,
      Calculator,
      {
        version: () => (counts.version++, BIG),
        sleep: async (ms: number) => {
          counts.maxSleeping = Math.max(counts.maxSleeping, ++counts.sleeping);
          await new Promise((r) => setTimeout(r, ms));
          counts.sleeping--;
          return ms;
        },
        add: (a: number, b: number) => a + b,
      },
      limits === undefined ? {} : { limits },
    );
    return server.listen(0);
  }
  afterEach(() => mesh.close());

  it('stops reading a client that does not read its replies, and serves it all once it does', async () => {
    const port = await start();
    const n = 3000;
    const client = await connect(port);
    client.pause();
    client.write(requests(n, (c) => c.version()));
    // 5,000 replies of 16 KiB are 80 MiB: the server must not produce them all for a client that reads none
    // (it reads on only while fewer than maxCallsPerConnection calls are in flight and replies drain).
    const served = await settled(() => counts.version);
    assert.ok(served < n / 2, `the server answered ${served} of ${n} calls for a client that read nothing`);
    let bytes = 0;
    const all = new Promise<void>((resolve) =>
      client.on('data', (c: Buffer) => {
        bytes += c.length;
        if (bytes >= n * BIG.length) resolve();
      }),
    );
    client.resume();
    await all;
    assert.equal(counts.version, n);
    client.destroy();
  });

  it('caps calls in flight per connection, and runs the rest as earlier ones finish', async () => {
    const port = await start({ maxCallsPerConnection: 4 });
    const client = await connect(port);
    // A sleep reply is as long as its request (same name, one i32): all 20 are in once their bytes are.
    const replyBytes = requests(1, (c) => c.sleep(30)).length;
    let bytes = 0;
    const all = new Promise<void>((resolve) =>
      client.on('data', (c: Buffer) => {
        bytes += c.length;
        if (bytes >= 20 * replyBytes) resolve();
      }),
    );
    client.write(requests(20, (c) => c.sleep(30)));
    await settled(() => counts.maxSleeping);
    await all;
    assert.equal(counts.maxSleeping, 4);
    client.destroy();
  });

  it('closes a connection whose request does not arrive whole within requestTimeoutMs (slowloris)', async () => {
    const port = await start({ requestTimeoutMs: 200 });
    const client = await connect(port);
    client.on('error', () => undefined);
    client.resume();
    const whole = requests(1, (c) => c.add(1, 2));
    // One byte at a time, never the whole request.
    let i = 0;
    const drip = setInterval(() => {
      if (i < whole.length - 1 && !client.destroyed) client.write(whole.subarray(i, ++i));
    }, 20);
    const started = performance.now();
    await closed(client);
    clearInterval(drip);
    assert.ok(performance.now() - started >= 190);
    assert.equal(server.stats.requestTimeouts, 1);
  });

  it('closes idle connections after idleTimeoutMs, and keeps busy ones', async () => {
    const port = await start({ idleTimeoutMs: 150 });
    const idle = await connect(port);
    await closed(idle);
    assert.equal(server.stats.idleClosed, 1);
    // A call that outlasts the idle timeout keeps its connection.
    const busy = await connect(port);
    const reply = new Promise<void>((resolve) => busy.once('data', () => resolve()));
    busy.write(requests(1, (c) => c.sleep(300)));
    await reply;
    assert.equal(busy.destroyed, false);
    busy.destroy();
  });

  it('refuses connections past maxConnections at once, and serves the ones it holds', async () => {
    const port = await start({ maxConnections: 3 });
    const held = await Promise.all([connect(port), connect(port), connect(port)]);
    const extra = await Promise.all([connect(port), connect(port)]);
    for (const s of [...held, ...extra]) s.on('error', () => undefined);
    await Promise.all(extra.map(closed));
    assert.equal(server.stats.refused, 2);
    assert.equal(server.stats.connections, 3);
    const reply = new Promise<Buffer>((resolve) => held[0]!.once('data', resolve));
    held[0]!.write(requests(1, (c) => c.add(1, 2)));
    assert.ok((await reply).length > 0);
    for (const s of held) s.destroy();
  });

  it('refuses limits that are not positive numbers, naming the field', async () => {
    mesh = await Mesh.start();
    assert.throws(() => createThriftServer(mesh, Calculator, {}, { limits: { idleTimeoutMs: 0 } }), /idleTimeoutMs is 0/);
    assert.throws(() => createThriftServer(mesh, Calculator, {}, { limits: { maxConections: 5 } as ServerLimits }), /unknown field maxConections/);
  });
});
