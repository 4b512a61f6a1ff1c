// x-request-id as MetaProtocol Proxy's router has it: a call without one gets a
// UUID v4 on its way out, carried to the provider (Dubbo attachment, THeader
// header) and written in the access log; a call that has one keeps it.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { Mesh } from 'meta-mesh';
import * as dubbo from '../adapters/dubbo/support';
import * as thriftSupport from '../adapters/thrift/support';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('x-request-id', function () {
  this.timeout(30_000);

  describe('Dubbo', () => {
    let fleet: dubbo.Fleet;
    let mesh: Mesh | undefined;
    before(async () => {
      fleet = await dubbo.startFleet(['v1']);
    });
    after(async () => {
      await mesh?.close();
      await fleet.close();
    });

    it('gives each call without one a fresh UUID v4, seen by the provider as an attachment and in the access log', async () => {
      const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'meta-mesh-rid-')), 'mesh.yaml');
      fs.writeFileSync(file, dubbo.dubboMeshYaml(fleet.ports, `    - name: all\n      route:\n${dubbo.to('v1')}`));
      const stream = new PassThrough();
      const lines: string[] = [];
      stream.on('data', (chunk: Buffer) => lines.push(...chunk.toString('utf8').split('\n').filter((l) => l !== '')));
      mesh = await Mesh.start({ config: file, watch: false, logger: () => undefined, telemetry: { accessLog: { stream, format: 'json' } } });
      const { demo, dubbo: client } = dubbo.demoClient(mesh);
      assert.equal((await demo.sayHello('a')).err, null);
      assert.equal((await demo.sayHello('b')).err, null);
      const ids = fleet.logs.v1!.calls.map((c) => c.attachments['x-request-id']);
      assert.equal(ids.length, 2);
      for (const id of ids) assert.match(id ?? '', UUID_V4);
      assert.notEqual(ids[0], ids[1]);
      const logged = lines.map((l) => (JSON.parse(l) as { request_id?: string }).request_id);
      assert.deepEqual(logged, ids);

      // A call that carries one keeps it.
      client.use(async (ctx: { attachments: Record<string, string> }, next: () => Promise<void>) => {
        ctx.attachments = { 'x-request-id': 'caller-chosen-id' };
        await next();
      });
      assert.equal((await demo.sayHello('c')).err, null);
      assert.equal(fleet.logs.v1!.calls[2]!.attachments['x-request-id'], 'caller-chosen-id');
    });
  });

  describe('Thrift over THeader', () => {
    let fleet: thriftSupport.Fleet;
    let mesh: Mesh | undefined;
    before(async () => {
      fleet = await thriftSupport.startFleet(['v1']);
      ({ mesh } = await thriftSupport.clientMesh(fleet.endpoints));
    });
    after(async () => {
      await mesh?.close();
      await fleet.close();
    });

    it('carries the created id to the server as a THeader header', async () => {
      const { client } = thriftSupport.calculatorClient(mesh!, { upstreamTransport: 'header' });
      const first = await client.header('x-request-id');
      const second = await client.header('x-request-id');
      assert.match(first, UUID_V4);
      assert.match(second, UUID_V4);
      assert.notEqual(first, second);
    });
  });
});
