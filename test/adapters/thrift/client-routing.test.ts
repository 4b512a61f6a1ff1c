import { strict as assert } from 'node:assert';
import * as thrift from 'thrift';
import type { Mesh } from 'meta-mesh';
import { createThriftConnection } from 'meta-mesh/thrift';
import { callsInFlight } from '../../support/calls-in-flight';
import { destination } from '../../support/mesh-yaml';
import { Calculator, HOST, PORT, calculatorClient, clientMesh, startFleet, type Fleet } from './support';

const canaryRoutes = [
  `    - name: add-to-v2
      match:
        attributes:
          method:
            exact: add
      route:
${destination(HOST, 'v2')}`,
  `    - name: beta-users
      match:
        attributes:
          x-user:
            prefix: beta-
      route:
${destination(HOST, 'v2')}`,
  `    - name: multiplexed-calc
      match:
        attributes:
          service:
            exact: Calc
      route:
${destination(HOST, 'v1')}`,
  `    - name: canary
      match:
        attributes:
          method:
            regex: "version|subtract|header|record|divide|echo"
      route:
${destination(HOST, 'v1', 80)}
${destination(HOST, 'v2', 20)}
      requestMutation:
        - key: x-canary
          value: "yes"`,
].join('\n');

describe('Thrift client through the mesh', function () {
  this.timeout(60_000);
  let fleet: Fleet;
  let mesh: Mesh;

  before(async () => {
    fleet = await startFleet(['v1', 'v2']);
    ({ mesh } = await clientMesh(fleet.endpoints, canaryRoutes));
  });
  after(async () => {
    await mesh.close();
    await fleet.close();
  });

  it('routes by method to the v2 subset', async () => {
    const { client } = calculatorClient(mesh);
    const before = { ...fleet.logs.v2!.calls };
    for (let i = 0; i < 20; i++) assert.equal(await client.add(i, 1), i + 1);
    assert.equal((fleet.logs.v2!.calls.add ?? 0) - (before.add ?? 0), 20);
    assert.equal(fleet.logs.v1!.calls.add ?? 0, 0);
  });

  it('splits a weighted route 80/20 within tolerance over 10,000 calls', async () => {
    const { client } = calculatorClient(mesh);
    const seen: Record<string, number> = {};
    const answers = await callsInFlight(10_000, 64, () => client.version());
    for (const a of answers) seen[a] = (seen[a] ?? 0) + 1;
    // Binomial(10000, 0.2): sd = 40; allow 5 sd.
    assert.equal((seen.v1 ?? 0) + (seen.v2 ?? 0), 10_000);
    assert.ok(Math.abs((seen.v2 ?? 0) - 2000) <= 200, `v2 got ${seen.v2}`);
  });

  it('routes by per-call metadata and sends it upstream as THeader headers', async () => {
    const { conn, client } = calculatorClient(mesh, { upstreamTransport: 'header' });
    const seen = new Set<string>();
    for (let i = 0; i < 10; i++) seen.add(await conn.withMetadata({ 'X-User': 'beta-42' }, () => client.version()));
    assert.deepEqual([...seen], ['v2']);
    assert.equal(await conn.withMetadata({ 'x-user': 'beta-7' }, () => client.header('x-user')), 'beta-7');
    // Outside withMetadata the key is gone again.
    assert.equal(await client.header('x-user'), '');
  });

  it("writes the route's request mutation where the server can read it", async () => {
    const { client } = calculatorClient(mesh, { upstreamTransport: 'header' });
    assert.equal(await client.header('x-canary'), 'yes');
  });

  it('answers a call no route matches with a TApplicationException naming the route config', async () => {
    const { client } = calculatorClient(mesh);
    await assert.rejects(client.sleep(1), (err: Error & { type?: number }) => {
      assert.ok(err instanceof thrift.Thrift.TApplicationException, `got ${err}`);
      assert.match(err.message, /NO_ROUTE/);
      assert.match(err.message, new RegExp(`${HOST}_${PORT}`));
      return true;
    });
  });

  it('serves callback-style clients generated without es6', async () => {
    // thrift --gen js:node (no es6) makes callback clients; its promise path needs thrift.Q, gone in thrift 0.24.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const Classic = require('../../../gen/calculator/js-classic/Calculator');
    const client = thrift.createClient(Classic, createThriftConnection(mesh, HOST, PORT)) as {
      add(a: number, b: number, cb: (err: unknown, res: number) => void): void;
      divide(a: number, b: number, cb: (err: unknown, res: number) => void): void;
    };
    const sum = await new Promise<number>((resolve, reject) => client.add(20, 22, (err, res) => (err ? reject(err) : resolve(res))));
    assert.equal(sum, 42);
    const err = await new Promise<unknown>((resolve) => client.divide(1, 0, (e) => resolve(e)));
    assert.equal((err as { message?: string }).message, '1 / 0');
  });

  it('delivers declared exceptions from the server', async () => {
    const { client } = calculatorClient(mesh);
    await assert.rejects(client.divide(1, 0), (err: Error & { message: string }) => err.message === '1 / 0');
  });

  it('sends oneway calls instead of dropping them', async () => {
    const { client } = calculatorClient(mesh);
    const tag = `event-${Date.now()}`;
    await client.record(tag);
    for (let i = 0; i < 100 && !fleet.logs.v1!.events.includes(tag) && !fleet.logs.v2!.events.includes(tag); i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(fleet.logs.v1!.events.includes(tag) || fleet.logs.v2!.events.includes(tag), 'no server recorded the oneway call');
  });

  it('routes thrift.Multiplexer clients by service name', async () => {
    // A second server mesh serves Calc through a MultiplexedProcessor.
    const { Mesh } = await import('meta-mesh');
    const { createThriftServer } = await import('meta-mesh/thrift');
    const { calculatorHandler, newServerLog } = await import('../../../examples/thrift-canary/servers');
    const serverMesh = await Mesh.start();
    const log = newServerLog();
    const mp = new thrift.MultiplexedProcessor() as thrift.MultiplexedProcessor & { registerProcessor(name: string, p: unknown): void };
    mp.registerProcessor('Calc', new Calculator.Processor(calculatorHandler('mux', log)));
    const server = createThriftServer(serverMesh, mp);
    const port = await server.listen(0);
    const { clientMesh: makeMesh } = await import('./support');
    const { mesh: muxMesh } = await makeMesh([{ port, version: 'v1' }, { port, version: 'v2' }], canaryRoutes);
    try {
      const conn = createThriftConnection(muxMesh, HOST, PORT);
      const calc = new thrift.Multiplexer().createClient('Calc', Calculator, conn);
      assert.equal(await calc.add(1, 2), 3);
      assert.equal(await calc.version(), 'mux');
      assert.equal(log.calls.add, 1);
    } finally {
      await muxMesh.close();
      await serverMesh.close();
    }
  });
});
