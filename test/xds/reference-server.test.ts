// The client's ACK and NACK messages, checked by an independent xDS server
// built directly on the real Envoy protos (not meta-mesh's subset): version
// and nonce per type, error_detail on a refusal, node on the first message.
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { ControlPlaneServer, TYPE_RDS, XdsConfigSource } from '../../lib/xds';
import { realEnvoy } from './real-envoy-protos';
import { HOST, V1, sampleRouteConfiguration } from './sample-resources';

type Req = { version_info?: string; node?: { id?: string }; resource_names?: string[]; type_url?: string; response_nonce?: string; error_detail?: { code?: number; message?: string } };

/** A bare RDS server: records every request and lets the test send responses by hand. */
class ReferenceRds {
  readonly server = new grpc.Server();
  readonly requests: Req[] = [];
  call: grpc.ServerDuplexStream<Req, object> | undefined;
  private waiting: (() => void)[] = [];
  port = 0;

  async start(): Promise<void> {
    this.server.addService(realEnvoy().rds, {
      StreamRoutes: (call: grpc.ServerDuplexStream<Req, object>) => {
        this.call = call;
        call.on('data', (r: Req) => {
          this.requests.push(r);
          for (const w of this.waiting.splice(0)) w();
        });
        call.on('error', () => undefined);
        call.on('end', () => call.end());
      },
    });
    this.port = await new Promise((resolve, reject) => this.server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  }

  async nextRequest(count: number): Promise<Req> {
    while (this.requests.length < count) await new Promise<void>((r) => this.waiting.push(r));
    return this.requests[count - 1]!;
  }

  send(version: string, nonce: string, routeConfigs: object[]): void {
    const codec = realEnvoy().codecs.RouteConfiguration;
    this.call!.write({ version_info: version, nonce, type_url: TYPE_RDS, resources: routeConfigs.map((rc) => ({ type_url: TYPE_RDS, value: codec.encode(rc) })) });
  }

  close(): void {
    this.call?.end();
    this.server.forceShutdown();
  }
}

describe('xDS client messages seen by a server on the real Envoy protos', () => {
  let server: ReferenceRds | undefined;
  let source: XdsConfigSource | undefined;
  let ads: ControlPlaneServer | undefined;
  afterEach(async () => {
    source?.close();
    server?.close();
    await ads?.close();
    ads = undefined;
    source = undefined;
    server = undefined;
  });

  it('subscribes with its node, ACKs with version and nonce, and NACKs with error_detail and the previous version', async () => {
    server = new ReferenceRds();
    await server.start();
    const rc = sampleRouteConfiguration();
    // An ADS server with no clusters: the routes' clusters are then known to be absent, and the snapshot holds the routes alone.
    ads = await ControlPlaneServer.start({ port: 0, host: '127.0.0.1' });
    const starting = XdsConfigSource.start(
      { metaRds: `127.0.0.1:${server.port}`, ads: `127.0.0.1:${ads.port}`, services: [`${HOST}:9090`], nodeId: 'test-node-1' },
      () => undefined,
    );
    const first = await server.nextRequest(1);
    assert.equal(first.node?.id, 'test-node-1');
    assert.equal(first.type_url, TYPE_RDS);
    assert.deepEqual(first.resource_names, [`${HOST}_9090`]);
    assert.equal(first.version_info ?? '', '');
    assert.equal(first.response_nonce ?? '', '');

    server.send('100', 'n1', [rc]);
    const ack = await server.nextRequest(2);
    assert.equal(ack.version_info, '100');
    assert.equal(ack.response_nonce, 'n1');
    assert.equal(ack.error_detail, undefined);
    assert.equal(ack.node, undefined, 'node only on the first message of a stream');
    source = await starting;
    assert.deepEqual(source.snapshot!.routeConfigs.get(`${HOST}_9090`)!.routes.map((r) => r.name), ['every-matcher', 'default']);

    const broken = { ...rc, virtual_hosts: [{ name: 'dummy', routes: [{ name: 'nowhere', match: { prefix: '/' }, route: { cluster_header: 'x-cluster' } }] }] };
    server.send('101', 'n2', [broken]);
    const nack = await server.nextRequest(3);
    assert.equal(nack.version_info, '100', 'a NACK carries the version still in use');
    assert.equal(nack.response_nonce, 'n2');
    assert.equal(nack.error_detail?.code, 3);
    assert.match(nack.error_detail?.message ?? '', /'nowhere' uses cluster_header/);
    assert.deepEqual(source.snapshot!.routeConfigs.get(`${HOST}_9090`)!.routes.map((r) => r.name), ['every-matcher', 'default']);

    const fixed = { ...rc, virtual_hosts: [{ name: 'dummy', routes: [{ name: 'v1-only', match: { prefix: '/' }, route: { cluster: V1 } }] }] };
    server.send('102', 'n3', [fixed]);
    const ack2 = await server.nextRequest(4);
    assert.equal(ack2.version_info, '102');
    assert.equal(ack2.response_nonce, 'n3');
    assert.equal(ack2.error_detail, undefined);
  });

  it('sends a NACK for two virtual hosts and for an undecodable resource', async () => {
    server = new ReferenceRds();
    await server.start();
    const rc = sampleRouteConfiguration();
    void XdsConfigSource.start({ metaRds: `127.0.0.1:${server.port}`, services: [`${HOST}:9090`], waitForConfigMs: 1000 }, () => undefined).then(
      (s) => (source = s),
      () => undefined,
    );
    await server.nextRequest(1);
    server.send('1', 'a', [{ ...rc, virtual_hosts: [...rc.virtual_hosts!, { name: 'second' }] }]);
    const nack = await server.nextRequest(2);
    assert.equal(nack.version_info ?? '', '');
    assert.match(nack.error_detail?.message ?? '', /2 virtual hosts/);
    server.call!.write({ version_info: '2', nonce: 'b', type_url: TYPE_RDS, resources: [{ type_url: TYPE_RDS, value: Buffer.from([0x0a, 0xff]) }] });
    const nack2 = await server.nextRequest(3);
    assert.equal(nack2.response_nonce, 'b');
    assert.match(nack2.error_detail?.message ?? '', /could not be decoded/);
  });
});
