// Call.signal: every call carries an AbortSignal that its deadline (a route's
// timeout included) and mesh.close() abort, and the mesh's own waits (fault
// delays, retry back-off, queued mirrors) end with it.
import { strict as assert } from 'node:assert';
import { once } from 'node:events';
import * as net from 'node:net';
import { Mesh, MeshError, type Call, type CodecFactory, type Filter, type Message } from 'meta-mesh';
import { Cluster, Mirror, UpstreamPool, parseRetryOn } from 'meta-mesh/experimental';
import { sendWithRetries, retryBackoffMs, RETRY_BACKOFF_MAX_MS } from '../../lib/filters/upstream-send';
import { echoCodecFactory, echoFrame, EchoCodec, startEchoServer } from '../support/echo-protocol';
import { writeMeshYaml } from '../support/mesh-yaml';

const HOST = 'signal.echo.svc';
const PORT = 9090;

function newCall(mesh: Mesh, method: string, payload: string, timeoutMs = 5000): Call {
  const outbound = mesh.outbound(HOST, PORT, echoCodecFactory);
  const codec = new EchoCodec();
  const request = (codec.decode(echoFrame(1, 1, method, payload)) as { message: Message }).message;
  const startTime = performance.now();
  return {
    direction: 'outbound',
    service: outbound.service,
    request,
    metadata: request.metadata,
    mutation: new Map(),
    codec,
    codecFactory: echoCodecFactory,
    encodeOptions: undefined,
    expectReply: true,
    startTime,
    timeoutMs,
    signal: mesh.callSignal(timeoutMs, startTime),
  };
}

/** A call as the adapters make it: the deadline in `deadline`, the signal made only when read. */
function lazyCall(mesh: Mesh, method: string, payload: string, timeoutMs: number, factory: CodecFactory = echoCodecFactory, onRead?: () => void): Call {
  const outbound = mesh.outbound(HOST, PORT, factory);
  const codec = new EchoCodec();
  const request = (codec.decode(echoFrame(1, 1, method, payload)) as { message: Message }).message;
  const startTime = performance.now();
  const deadline = mesh.callDeadline(timeoutMs, startTime);
  return {
    direction: 'outbound',
    service: outbound.service,
    request,
    metadata: request.metadata,
    mutation: new Map(),
    codec,
    codecFactory: factory,
    encodeOptions: undefined,
    expectReply: true,
    startTime,
    timeoutMs,
    deadline,
    get signal() {
      onRead?.();
      return deadline.signal;
    },
  };
}

/** The echo protocol with MetaProtocol Proxy's `multiplexing: true`: calls share sockets. */
const multiplexedEcho: CodecFactory = { protocol: 'echo', variant: 'mux', multiplexing: true, create: () => new EchoCodec() };

async function waitFor(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 5));
}

const delayRoute = (extra: string) => `    - name: all
      route:
        - destination:
            host: ${HOST}
${extra}`;

const fault60s = `      fault:\n        delay:\n          percentage:\n            value: 100\n          fixedDelay: 60s\n`;

function timeouts(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
}

describe('Call.signal', function () {
  this.timeout(20_000);
  let echo: Awaited<ReturnType<typeof startEchoServer>>;
  before(async () => {
    echo = await startEchoServer();
  });
  after(() => {
    for (const s of echo.sockets) s.destroy();
    echo.server.close();
  });

  it('is aborted with TIMEOUT at the call deadline, and a user filter can wait on it', async () => {
    let seen: unknown;
    const waiter: Filter = () => async (call) => {
      await once(call.signal, 'abort');
      seen = call.signal.reason;
      throw call.signal.reason;
    };
    const file = writeMeshYaml({ host: HOST, port: PORT, endpoints: [{ port: echo.port, version: 'v1' }], routes: delayRoute('') });
    const mesh = await Mesh.start({ config: file, watch: false, preconnect: false, filters: { outbound: [waiter] }, logger: () => undefined });
    try {
      const call = newCall(mesh, 'echo', 'x', 40);
      await assert.rejects(mesh.outbound(HOST, PORT, echoCodecFactory).handle(call), { code: 'TIMEOUT' });
      assert.ok(seen instanceof MeshError && seen.code === 'TIMEOUT');
      assert.equal(mesh.liveCalls, 0);
    } finally {
      await mesh.close();
    }
  });

  it("follows the route's timeout: a long fault delay ends at the route deadline", async () => {
    const file = writeMeshYaml({ host: HOST, port: PORT, endpoints: [{ port: echo.port, version: 'v1' }], routes: delayRoute(`      timeout: 80ms\n${fault60s}`) });
    const mesh = await Mesh.start({ config: file, watch: false, preconnect: false, logger: () => undefined });
    try {
      const started = performance.now();
      await assert.rejects(mesh.outbound(HOST, PORT, echoCodecFactory).handle(newCall(mesh, 'echo', 'x', 30_000)), { code: 'TIMEOUT' });
      const took = performance.now() - started;
      assert.ok(took >= 70 && took < 10_000, `took ${took} ms`);
    } finally {
      await mesh.close();
    }
  });

  it('mesh.close() ends a fault delay in progress with CLOSED and leaves no timer', async () => {
    const file = writeMeshYaml({ host: HOST, port: PORT, endpoints: [{ port: echo.port, version: 'v1' }], routes: delayRoute(fault60s) });
    await new Promise((r) => setImmediate(r));
    const before = timeouts();
    const mesh = await Mesh.start({ config: file, watch: false, preconnect: false, logger: () => undefined });
    const delayed = mesh.outbound(HOST, PORT, echoCodecFactory).handle(newCall(mesh, 'echo', 'x', 120_000));
    const outcome = delayed.then(
      () => 'resolved',
      (err: unknown) => (err as MeshError).code,
    );
    // The delay has begun once the call has left the chain's synchronous part.
    await new Promise((r) => setImmediate(r));
    await mesh.close();
    assert.equal(await outcome, 'CLOSED');
    assert.equal(timeouts(), before, `timers left behind after close: ${process.getActiveResourcesInfo().join(",")}`);
    assert.equal(mesh.liveCalls, 0);
  });

  for (const multiplexing of [false, true]) {
    it(`holds one timer per call in flight, the call's deadline, with ${multiplexing ? 'multiplexed' : 'pooled one-call'} connections`, async () => {
      const file = writeMeshYaml({ host: HOST, port: PORT, endpoints: [{ port: echo.port, version: 'v1' }], routes: delayRoute('') });
      const mesh = await Mesh.start({ config: file, watch: false, preconnect: false, logger: () => undefined });
      const factory = multiplexing ? multiplexedEcho : echoCodecFactory;
      try {
        const outbound = mesh.outbound(HOST, PORT, factory);
        // Connected first, so connect timers are gone.
        await outbound.handle(lazyCall(mesh, 'echo', 'warm', 60_000, factory));
        await new Promise((r) => setImmediate(r));
        const before = timeouts();
        const seen = echo.received.length;
        const calls = Array.from({ length: 4 }, () => outbound.handle(lazyCall(mesh, 'sleep', '300', 60_000, factory)));
        // Every call has been written once the server has them all (the pooled model opens three more connections).
        await waitFor(() => echo.received.length >= seen + 4);
        assert.equal(timeouts() - before, 4, `timers: ${process.getActiveResourcesInfo().join(',')}`);
        await Promise.all(calls);
        assert.equal(mesh.liveCalls, 0);
      } finally {
        await mesh.close();
      }
    });
  }

  it('makes no AbortSignal for a call whose signal nothing reads, and still times it out', async () => {
    const file = writeMeshYaml({ host: HOST, port: PORT, endpoints: [{ port: echo.port, version: 'v1' }], routes: delayRoute('') });
    const mesh = await Mesh.start({ config: file, watch: false, preconnect: false, logger: () => undefined });
    try {
      let reads = 0;
      const call = lazyCall(mesh, 'sleep', '2000', 60, echoCodecFactory, () => reads++);
      await assert.rejects(mesh.outbound(HOST, PORT, echoCodecFactory).handle(call), (e: MeshError) => e.code === 'TIMEOUT' && e.message.includes('no reply from'));
      assert.equal(reads, 0, 'the mesh read call.signal on the hot path');
      assert.equal(mesh.liveCalls, 0);
      // Read afterwards, it says what happened: the deadline passed.
      assert.equal(call.signal.aborted, true);
      assert.equal((call.signal.reason as MeshError).code, 'TIMEOUT');
    } finally {
      await mesh.close();
    }
  });

  it('a call signal made after close starts aborted', async () => {
    const mesh = await Mesh.start({ logger: () => undefined });
    await mesh.close();
    const signal = mesh.callSignal(1000);
    assert.equal(signal.aborted, true);
    assert.equal((signal.reason as MeshError).code, 'CLOSED');
  });

  it('never aborts a call that has settled, and holds no timer for it', async () => {
    const file = writeMeshYaml({ host: HOST, port: PORT, endpoints: [{ port: echo.port, version: 'v1' }], routes: delayRoute('') });
    const mesh = await Mesh.start({ config: file, watch: false, preconnect: false, logger: () => undefined });
    try {
      const call = newCall(mesh, 'echo', 'hi', 60_000);
      await mesh.outbound(HOST, PORT, echoCodecFactory).handle(call);
      assert.equal(mesh.liveCalls, 0);
      await mesh.close();
      assert.equal(call.signal.aborted, false, 'a settled call was aborted by close');
    } finally {
      await mesh.close();
    }
  });
});

describe('retry back-off', () => {
  it("is Envoy's fully jittered exponential: [0, 25 ms), [0, 75 ms), ..., capped at 250 ms", () => {
    assert.equal(retryBackoffMs(1, () => 0), 0);
    assert.equal(retryBackoffMs(1, () => 0.999), 24);
    assert.equal(retryBackoffMs(2, () => 0.999), 74);
    assert.equal(retryBackoffMs(3, () => 0.999), 174);
    assert.equal(retryBackoffMs(30, () => 0.999), RETRY_BACKOFF_MAX_MS - 1);
  });

  it("ends as soon as the call's signal aborts, with the signal's reason, before another try", async () => {
    // A port that refuses connections: every try fails with CONNECT_FAILURE, which the route retries.
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const deadPort = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const pool = new UpstreamPool({ connectionsPerEndpoint: 1 });
    const cluster = new Cluster(
      {
        name: 'outbound|9090||dead',
        host: 'dead',
        port: 9090,
        subset: '',
        endpoints: [{ address: '127.0.0.1', port: deadPort, labels: {}, weight: 1 }],
        lbPolicy: 'ROUND_ROBIN',
        connectTimeoutMs: 1000,
      },
      pool,
    );
    const controller = new AbortController();
    const reason = new MeshError('CLOSED', 'stopped by the test');
    const codec = new EchoCodec();
    const request = (codec.decode(echoFrame(1, 1, 'echo', 'x')) as { message: Message }).message;
    const call = { request, expectReply: true, codecFactory: echoCodecFactory, metadata: request.metadata, signal: controller.signal } as unknown as Call;
    let retries = 0;
    const started = performance.now();
    try {
      await assert.rejects(
        sendWithRetries(call, cluster, {
          options: undefined,
          timeoutMs: 10_000,
          hashKey: undefined,
          retry: { attempts: 5, perTryTimeoutMs: 0, conditions: parseRetryOn('connect-failure'), isIdempotent: () => true },
          // The longest back-off: the abort below lands inside it.
          random: () => 0.999,
          events: {
            retry: () => {
              retries++;
              controller.abort(reason);
            },
          },
        }),
        (err: unknown) => err === reason,
      );
      assert.equal(retries, 1, 'a second try was made after the abort');
      assert.equal(call.tryCount, 1);
      assert.ok(performance.now() - started < 5_000);
    } finally {
      pool.close();
    }
  });
});

describe('Mirror and signals', () => {
  it('drops a queued send whose call signal aborted before a slot freed', async () => {
    const mirror = new Mirror({ maxConcurrent: 1, maxQueued: 4 });
    let release!: () => void;
    const started: string[] = [];
    mirror.submit(() => {
      started.push('first');
      return new Promise<void>((r) => (release = r));
    });
    const controller = new AbortController();
    assert.equal(
      mirror.submit(async () => void started.push('late'), controller.signal),
      true,
    );
    mirror.submit(async () => void started.push('live'));
    controller.abort(new Error('deadline'));
    release();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(started, ['first', 'live']);
    assert.equal(mirror.stats.dropped, 1);
    assert.equal(mirror.submit(async () => undefined, controller.signal), false, 'an aborted call is not mirrored');
  });
});
