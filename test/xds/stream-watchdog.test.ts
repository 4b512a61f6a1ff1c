// A control plane that drops the stream without a status is found by the
// stream watchdog, and the client opens a new stream and subscribes again;
// a message above the receive limit is refused and the last good config stays.
// The server is a real gRPC server on the real Envoy protos.
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { ControlPlaneServer, TYPE_RDS, XdsConfigSource } from '../../lib/xds';
import { realEnvoy } from './real-envoy-protos';
import { HOST, sampleRouteConfiguration } from './sample-resources';

type Req = { version_info?: string; node?: { id?: string }; resource_names?: string[]; type_url?: string; response_nonce?: string };

/** An RDS server that answers each stream's first request, then (if `silent`) never speaks again and never ends the stream. */
class SilentRds {
  readonly server = new grpc.Server();
  readonly streams: { requests: Req[]; opened: number }[] = [];
  port = 0;
  constructor(private readonly routeConfig: object, private readonly padding = 0) {}

  async start(): Promise<void> {
    this.server.addService(realEnvoy().rds, {
      StreamRoutes: (call: grpc.ServerDuplexStream<Req, object>) => {
        const stream = { requests: [] as Req[], opened: Date.now() };
        this.streams.push(stream);
        call.on('data', (r: Req) => {
          stream.requests.push(r);
          if (stream.requests.length > 1) return; // the ACK; from here on: silence
          const codec = realEnvoy().codecs.RouteConfiguration;
          const rc = this.padding === 0 ? this.routeConfig : { ...this.routeConfig, virtual_hosts: [{ ...(this.routeConfig as { virtual_hosts: object[] }).virtual_hosts[0], domains: ['x'.repeat(this.padding)] }] };
          call.write({ version_info: String(this.streams.length), nonce: `n${this.streams.length}`, type_url: TYPE_RDS, resources: [{ type_url: TYPE_RDS, value: codec.encode(rc) }] });
        });
        call.on('error', () => undefined);
      },
    });
    this.port = await new Promise((resolve, reject) => this.server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  }

  async waitForStreams(n: number): Promise<void> {
    while (this.streams.length < n) await new Promise((r) => setTimeout(r, 10));
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

  it('opens a new stream and subscribes again when the server goes silent without ending the stream', async () => {
    server = new SilentRds(sampleRouteConfiguration());
    await server.start();
    // An ADS server with no clusters: the routes' clusters are then known to be absent.
    ads = await ControlPlaneServer.start({ port: 0, host: '127.0.0.1' });
    const seen: unknown[] = [];
    source = await XdsConfigSource.start(
      { metaRds: `127.0.0.1:${server.port}`, ads: `127.0.0.1:${ads.port}`, services: [`${HOST}:9090`], streamWatchdogMs: 300, backoff: { initialMs: 10, maxMs: 50 } },
      (s) => seen.push(s),
    );
    await server.waitForStreams(2);
    const [first, second] = server.streams;
    assert.ok(second!.opened - first!.opened < 3_000, `re-opened after ${second!.opened - first!.opened} ms`);
    const resubscribe = second!.requests[0]!;
    assert.deepEqual(resubscribe.resource_names, [`${HOST}_9090`]);
    assert.equal(resubscribe.version_info, '1', 'the new stream says which version the client runs');
    assert.equal(resubscribe.node?.id !== undefined, true, 'the new stream starts with the node');
    assert.equal(seen.length, 1, 'the same config resent makes no new snapshot');
    assert.match(source.dump().servers[0]!.lastError ?? 'reconnected', /nothing arrived|reconnected/);
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
