import { strict as assert } from 'node:assert';
import * as thrift from 'thrift';
import { Mesh } from 'meta-mesh';
import { createThriftConnection } from 'meta-mesh/thrift';
import * as Calculator from '../../../gen/calculator/js/Calculator';
import { startPythonServer, type PythonServer } from '../../support/python-server';
import { writeMeshYaml } from '../../support/mesh-yaml';

const HOST = 'py.calc.svc';

const formats = [
  { transport: 'framed', protocol: 'binary' },
  { transport: 'framed', protocol: 'compact' },
  { transport: 'buffered', protocol: 'binary' },
] as const;

describe('Node client through meta-mesh to Python thrift servers', function () {
  this.timeout(30_000);

  for (const format of formats) {
    describe(`${format.transport}/${format.protocol}`, () => {
      let py: PythonServer;
      let mesh: Mesh;
      before(async () => {
        py = await startPythonServer(format.transport, format.protocol, `py-${format.transport}-${format.protocol}`);
        const file = writeMeshYaml({ host: HOST, port: 9090, endpoints: [{ port: py.port, version: 'v1' }] });
        mesh = await Mesh.start({ config: file, logger: () => undefined });
      });
      after(async () => {
        await mesh.close();
        await py.stop();
      });

      it('calls, echoes large payloads, raises declared exceptions and sends oneway calls', async () => {
        const conn = createThriftConnection(mesh, HOST, 9090, { transport: format.transport, protocol: format.protocol });
        const client = thrift.createClient(Calculator, conn);
        assert.equal(await client.add(40, 2), 42);
        assert.equal(await client.version(), `py-${format.transport}-${format.protocol}`);
        const big = 'x'.repeat(300_000);
        assert.equal(await client.echo(big), big);
        await assert.rejects(client.divide(7, 0), (e: Error) => e.message === '7 / 0');
        await client.record('hello-from-node');
        const sums = await Promise.all(Array.from({ length: 200 }, (_, i) => client.add(i, i)));
        assert.deepEqual(sums, Array.from({ length: 200 }, (_, i) => 2 * i));
        for (let i = 0; i < 100 && !py.events.includes('hello-from-node'); i++) await new Promise((r) => setTimeout(r, 10));
        assert.ok(py.events.includes('hello-from-node'));
      });
    });
  }

  describe('THeader upstream', () => {
    let py: PythonServer;
    let mesh: Mesh;
    before(async () => {
      py = await startPythonServer('header', 'binary', 'py-header');
      const file = writeMeshYaml({ host: HOST, port: 9090, endpoints: [{ port: py.port, version: 'v1' }] });
      mesh = await Mesh.start({ config: file, logger: () => undefined });
    });
    after(async () => {
      await mesh.close();
      await py.stop();
    });

    it('delivers per-call metadata as THeader headers that Python reads', async () => {
      const conn = createThriftConnection(mesh, HOST, 9090, { upstreamTransport: 'header', metadata: { 'x-app': 'node-test' } });
      const client = thrift.createClient(Calculator, conn);
      assert.equal(await conn.withMetadata({ 'x-user': 'u-17' }, () => client.header('x-user')), 'u-17');
      assert.equal(await client.header('x-app'), 'node-test');
      assert.equal(await client.add(1, 1), 2);
    });
  });
});
