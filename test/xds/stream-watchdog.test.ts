// A control plane that drops the stream without a status is found by the
// stream watchdog when a request waits unanswered, and the client opens a new
// stream and subscribes again; a healthy stream that is merely quiet stays
// open (a new stream would make the server resend everything); a message
// above the receive limit is refused and the last good config stays. The
// servers are real gRPC servers on the real Envoy protos; the watchdog's time
// is an injected clock.
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { EventEmitter, once } from 'node:events';
import { ControlPlaneServer, TYPE_RDS, XdsConfigSource } from '../../lib/xds';
import type { DiscoveryResponseProto } from '../../lib/xds/envoy-types';
import { XdsStream, type WatchdogTimer } from '../../lib/xds/xds-stream';
import { realEnvoy } from './real-envoy-protos';
import { HOST, sampleRouteConfiguration } from './sample-resources';

type Req = { version_info?: string; node?: { id?: string }; resource_names?: string[]; type_url?: string; response_nonce?: string };

/** Which requests the server answers: stream and request index from 0 (the ACK of an answer is a request too). */
type AnswerPolicy = (stream: number, request: number, req: Req) => boolean;

/** The default: each stream's first request is answered, then silence, and the stream is never ended. */
const firstOnly: AnswerPolicy = (_stream, request) => request === 0;

/** An RDS server that answers the requests its policy picks and never ends a stream; it emits 'request' for each. */
class SilentRds extends EventEmitter {
  readonly server = new grpc.Server();
  readonly streams: { requests: Req[]; opened: number }[] = [];
  port = 0;
  constructor(
    private readonly routeConfig: object,
    private readonly padding = 0,
    private readonly answers: AnswerPolicy = firstOnly,
  ) {
    super();
  }

  async start(): Promise<void> {
    this.server.addService(realEnvoy().rds, {
      StreamRoutes: (call: grpc.ServerDuplexStream<Req, object>) => {
        const stream = { requests: [] as Req[], opened: Date.now() };
        this.streams.push(stream);
        const index = this.streams.length - 1;
        call.on('data', (r: Req) => {
          stream.requests.push(r);
          this.emit('request', index, stream.requests.length - 1, r);
          if (!this.answers(index, stream.requests.length - 1, r)) return;
          const codec = realEnvoy().codecs.RouteConfiguration;
          const rc = this.padding === 0 ? this.routeConfig : { ...this.routeConfig, virtual_hosts: [{ ...(this.routeConfig as { virtual_hosts: object[] }).virtual_hosts[0], domains: ['x'.repeat(this.padding)] }] };
          const version = `${index + 1}.${stream.requests.length}`;
          call.write({ version_info: version, nonce: `n${version}`, type_url: TYPE_RDS, resources: [{ type_url: TYPE_RDS, value: codec.encode(rc) }] });
        });
        call.on('error', () => undefined);
      },
    });
    this.port = await new Promise((resolve, reject) => this.server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  }

  /** Resolves with the request once request `request` of stream `stream` arrives. */
  async waitForRequest(stream: number, request: number): Promise<Req> {
    for (;;) {
      const got = this.streams[stream]?.requests[request];
      if (got !== undefined) return got;
      await once(this, 'request');
    }
  }

  close(): void {
    this.server.forceShutdown();
  }
}

describe('xDS stream watchdog and receive limit', function () {
  this.timeout(20_000);
  let server: SilentRds | undefined;
  let source: XdsConfigSource | undefined;
  let ads: ControlPlaneServer | undefined;
  afterEach(async () => {
    source?.close();
    server?.close();
    await ads?.close();
    source = undefined;
    server = undefined;
    ads = undefined;
  });

  it('opens a new stream and subscribes again when the server leaves the first request unanswered without ending the stream', async () => {
    // Stream 0 is abandoned from the start; the next stream is served.
    server = new SilentRds(sampleRouteConfiguration(), 0, (stream, request) => stream > 0 && request === 0);
    await server.start();
    // An ADS server with no clusters: the routes' clusters are then known to be absent.
    ads = await ControlPlaneServer.start({ port: 0, host: '127.0.0.1' });
    const seen: unknown[] = [];
    source = await XdsConfigSource.start(
      { metaRds: `127.0.0.1:${server.port}`, ads: `127.0.0.1:${ads.port}`, services: [`${HOST}:9090`], streamWatchdogMs: 300, backoff: { initialMs: 10, maxMs: 50 } },
      (s) => seen.push(s),
    );
    const [first, second] = server.streams;
    assert.ok(second !== undefined, 'the config came on a second stream');
    assert.ok(second.opened - first!.opened < 3_000, `re-opened after ${second.opened - first!.opened} ms`);
    const resubscribe = second.requests[0]!;
    assert.deepEqual(resubscribe.resource_names, [`${HOST}_9090`]);
    assert.equal(resubscribe.node?.id !== undefined, true, 'the new stream starts with the node');
    assert.equal(seen.length, 1);
    assert.deepEqual(source.dump().servers[0]!.awaiting, []);
  });

  it('refuses a message above maxReceiveMessageBytes and keeps the last good config', async () => {
    server = new SilentRds(sampleRouteConfiguration(), 200_000);
    await server.start();
    await assert.rejects(
      XdsConfigSource.start(
        { metaRds: `127.0.0.1:${server.port}`, services: [`${HOST}:9090`], maxReceiveMessageBytes: 100_000, waitForConfigMs: 1500, backoff: { initialMs: 10, maxMs: 50 } },
        () => undefined,
      ),
      (err: Error) => /no complete xDS config arrived/.test(err.message) && /RESOURCE_EXHAUSTED|larger than max|exceeds/i.test(err.message),
    );
    assert.ok(server.streams.length >= 2, 'the client retries the stream');
  });

  it('refuses a receive limit that is not a positive number of bytes', async () => {
    await assert.rejects(XdsConfigSource.start({ metaRds: '127.0.0.1:1', maxReceiveMessageBytes: 0, waitForConfigMs: 100 }, () => undefined), /maxReceiveMessageBytes/);
  });
});

/** The watchdog's time, moved by hand: a timer fires only when the test advances past it. */
class ManualClock implements WatchdogTimer {
  private time = 0;
  private nextId = 0;
  private readonly timers = new Map<number, { at: number; fire: () => void }>();

  now(): number {
    return this.time;
  }

  setTimeout(fire: () => void, ms: number): unknown {
    const id = ++this.nextId;
    this.timers.set(id, { at: this.time + ms, fire });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  /** Timers armed now. */
  get armed(): number {
    return this.timers.size;
  }

  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      let due: [number, { at: number; fire: () => void }] | undefined;
      for (const entry of this.timers) if (entry[1].at <= end && (due === undefined || entry[1].at < due[1].at)) due = entry;
      if (due === undefined) break;
      this.timers.delete(due[0]);
      this.time = due[1].at;
      due[1].fire();
    }
    this.time = end;
  }
}

describe('xDS stream watchdog: only a request left unanswered reopens the stream', function () {
  this.timeout(20_000);
  const WINDOW = 1_000;
  let server: SilentRds | undefined;
  let stream: XdsStream | undefined;
  afterEach(() => {
    stream?.close();
    server?.close();
    stream = undefined;
    server = undefined;
  });

  /** A server with the answer policy, and a state-of-the-world MetaRDS stream to it on a manual clock, subscribed to one route config. */
  async function subscribed(answers?: AnswerPolicy) {
    server = new SilentRds(sampleRouteConfiguration(), 0, answers);
    await server.start();
    const clock = new ManualClock();
    const s = { ...open(server, clock), clock, server };
    s.stream.subscribe(TYPE_RDS, [`${HOST}_9090`]);
    return s;
  }

  /** A state-of-the-world MetaRDS stream to `server` on the manual clock, recording responses and ups and downs. */
  function open(to: SilentRds, clock: ManualClock) {
    const responses: DiscoveryResponseProto[] = [];
    const states: { up: boolean; error?: string }[] = [];
    const events = new EventEmitter();
    stream = new XdsStream({
      kind: 'rds',
      target: `127.0.0.1:${to.port}`,
      credentials: grpc.credentials.createInsecure(),
      node: { id: 'watchdog-test' },
      protocol: 'sotw',
      backoff: { initialMs: 1, maxMs: 5 },
      watchdogMs: WINDOW,
      watchdogTimer: clock,
      onResponse: (_type, response) => {
        responses.push(response);
        events.emit('response');
        return [];
      },
      onDeltaResponse: () => [],
      onState: (up, error) => states.push(error === undefined ? { up } : { up, error }),
    });
    return { stream, responses, states, events };
  }

  it('keeps a healthy quiet stream open however long nothing arrives, with no watchdog armed', async () => {
    const s = await subscribed();
    const { clock, server } = s;
    assert.equal(clock.armed, 1, 'the first request waits for its answer');
    await server.waitForRequest(0, 1); // the ACK of the answer
    assert.equal(s.responses.length, 1);
    assert.deepEqual(s.stream.state().awaiting, []);
    assert.equal(clock.armed, 0, 'nothing waits, so no watchdog runs');
    clock.advance(100 * WINDOW);
    assert.equal(s.stream.isOpen, true);
    assert.deepEqual(s.states, [{ up: true }]);
    assert.equal(server.streams.length, 1);
  });

  it('opens a new stream when a request that asks for more names goes unanswered for the window, resubscribing with the version in use', async () => {
    const s = await subscribed();
    const { clock, server } = s;
    await server.waitForRequest(0, 1);
    s.stream.subscribe(TYPE_RDS, [`${HOST}_9090`, `${HOST}_9091`]);
    const asked = await server.waitForRequest(0, 2);
    assert.deepEqual(asked.resource_names, [`${HOST}_9090`, `${HOST}_9091`]);
    assert.deepEqual(s.stream.state().awaiting, [TYPE_RDS]);
    clock.advance(WINDOW - 1);
    assert.equal(s.states.length, 1, 'not yet: the window has not passed');
    clock.advance(1);
    assert.equal(s.states.length, 2);
    assert.equal(s.states[1]!.up, false);
    assert.match(s.states[1]!.error ?? '', /waited 1000 ms for its response \(xds\.streamWatchdogMs\)/);
    const again = await server.waitForRequest(1, 0);
    assert.deepEqual(again.resource_names, [`${HOST}_9090`, `${HOST}_9091`]);
    assert.equal(again.version_info, '1.1', 'the new stream says which version the client runs');
    assert.equal(again.node?.id, 'watchdog-test');
  });

  it('stops the watchdog when the request is answered in time, and a request that only drops names needs no answer', async () => {
    // Every request that asks for names is answered; ACKs (same names) are not.
    let last: string[] = [];
    const policy: AnswerPolicy = (_stream, _request, req) => {
      const names = req.resource_names ?? [];
      const more = names.some((n) => !last.includes(n));
      last = names;
      return more;
    };
    const s = await subscribed(policy);
    const { clock, server } = s;
    await server.waitForRequest(0, 1);
    s.stream.subscribe(TYPE_RDS, [`${HOST}_9090`, `${HOST}_9091`]);
    assert.equal(clock.armed, 1);
    await server.waitForRequest(0, 3); // the request, then the ACK of its answer
    assert.equal(s.responses.length, 2);
    assert.equal(clock.armed, 0);
    s.stream.subscribe(TYPE_RDS, [`${HOST}_9091`]);
    await server.waitForRequest(0, 4);
    assert.deepEqual(s.stream.state().awaiting, []);
    clock.advance(100 * WINDOW);
    assert.equal(s.stream.isOpen, true);
    assert.equal(server.streams.length, 1);
    assert.deepEqual(s.states, [{ up: true }]);
  });

  it('opens a new stream when the first request is never answered, and the next stream that answers is used', async () => {
    const policy: AnswerPolicy = (stream, request) => stream > 0 && request === 0;
    const s = await subscribed(policy);
    const { clock, server } = s;
    await server.waitForRequest(0, 0);
    clock.advance(WINDOW);
    assert.equal(s.states[0]?.up, false);
    await server.waitForRequest(1, 1);
    assert.equal(s.responses.length, 1);
    assert.equal(s.stream.state().connected, true);
    assert.equal(clock.armed, 0);
  });
});
