// An apache-dubbo-js client on meta-mesh against meta-mesh Dubbo providers:
// MetaRouter routing by attachment and method, weighted splits, mutations
// arriving as attachments, and mesh errors surfacing as Dubbo errors.
import * as assert from 'node:assert/strict';
import type { Mesh } from 'meta-mesh';
import { callsInFlight } from '../../support/calls-in-flight';
import { clientMesh, demoClient, startFleet, to, type Fleet } from './support';

describe('dubbo: apache-dubbo-js client through meta-mesh', function () {
  let fleet: Fleet;
  let mesh: Mesh | undefined;

  before(async () => {
    fleet = await startFleet(['v1', 'v2']);
  });
  after(async () => {
    await fleet.close();
  });
  afterEach(async () => {
    await mesh?.close();
    mesh = undefined;
    for (const log of Object.values(fleet.logs)) log.calls.length = 0;
  });

  it('calls a provider and resolves {err, res} as dubbo-js does', async () => {
    mesh = await clientMesh(fleet.ports, `    - name: all\n      route:\n${to('v1')}`);
    const { demo } = demoClient(mesh);
    const hello = await demo.sayHello('mesh');
    assert.equal(hello.err, null);
    assert.equal(hello.res, 'hello mesh from v1');
    const sum = await demo.add(2, 40);
    assert.equal(sum.err, null);
    assert.equal(Number(sum.res), 42);
    const none = await demo.nothing();
    assert.deepEqual(none, { err: null, res: null });
  });

  it('routes by the version attachment to the matching subset', async () => {
    const routes = [
      `    - name: by-version\n      match:\n        attributes:\n          version:\n            exact: "2.0.0"\n      route:\n${to('v2')}`,
      `    - name: rest\n      route:\n${to('v1')}`,
    ].join('\n');
    mesh = await clientMesh(fleet.ports, routes);
    const v1 = demoClient(mesh, '1.0.0').demo;
    const v2 = demoClient(mesh, '2.0.0').demo;
    for (let i = 0; i < 5; i++) {
      assert.equal((await v2.sayHello('a')).res, 'hello a from v2');
      assert.equal((await v1.sayHello('b')).res, 'hello b from v1');
    }
    assert.equal(fleet.logs.v1!.calls.length, 5);
    assert.equal(fleet.logs.v2!.calls.length, 5);
  });

  it('routes by method and by interface', async () => {
    const routes = [
      `    - name: add-to-v2\n      match:\n        attributes:\n          interface:\n            exact: org.example.DemoService\n          method:\n            exact: add\n      route:\n${to('v2')}`,
      `    - name: rest\n      route:\n${to('v1')}`,
    ].join('\n');
    mesh = await clientMesh(fleet.ports, routes);
    const { demo } = demoClient(mesh);
    await Promise.all([demo.add(1, 2), demo.add(3, 4), demo.sayHello('x'), demo.nothing()]);
    assert.deepEqual(fleet.logs.v2!.calls.map((c) => c.method), ['add', 'add']);
    assert.deepEqual(fleet.logs.v1!.calls.map((c) => c.method).sort(), ['nothing', 'sayHello']);
  });

  it('splits traffic by weight within tolerance', async () => {
    mesh = await clientMesh(fleet.ports, `    - name: canary\n      route:\n${to('v1', 80)}\n${to('v2', 20)}`);
    const { demo } = demoClient(mesh);
    const n = 1000;
    const replies = await callsInFlight(n, 32, (i) => demo.sayHello(String(i)));
    const failed = replies.filter((r) => r.err !== null);
    assert.equal(failed.length, 0, `${failed.length} calls failed, first: ${failed[0]?.err?.message}`);
    const v2 = fleet.logs.v2!.calls.length;
    assert.equal(fleet.logs.v1!.calls.length + v2, n);
    // 20% of 1000: the binomial standard deviation is about 12.6, so ±60 is beyond 4.5 sigma.
    assert.ok(v2 > 140 && v2 < 260, `v2 got ${v2} of ${n} calls, expected about 200`);
  });

  it('delivers a route request mutation to the provider as an attachment, next to the client attachments', async () => {
    mesh = await clientMesh(fleet.ports, `    - name: tagged\n      route:\n${to('v1')}\n      requestMutation:\n        - key: x-canary\n          value: "true"`);
    const { dubbo, demo } = demoClient(mesh);
    dubbo.use(async (ctx: { attachments: Record<string, string> }, next: () => Promise<void>) => {
      ctx.attachments = { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' };
      await next();
    });
    assert.equal((await demo.sayHello('m')).err, null);
    const seen = fleet.logs.v1!.calls[0]!.attachments;
    assert.equal(seen['x-canary'], 'true');
    assert.equal(seen.traceparent, '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    assert.equal(seen.application, 'demo-consumer');
    assert.equal(seen.interface, 'org.example.DemoService');
    assert.equal(seen.method, 'sayHello');
  });

  it('answers a call no route matches with a Dubbo SERVICE_NOT_FOUND (60) error', async () => {
    mesh = await clientMesh(fleet.ports, `    - name: only-add\n      match:\n        attributes:\n          method:\n            exact: add\n      route:\n${to('v1')}`);
    const { demo } = demoClient(mesh);
    const reply = await demo.sayHello('lost');
    assert.equal(reply.res, null);
    assert.ok(reply.err instanceof Error);
    assert.equal((reply.err as Error & { dubboStatus?: number }).dubboStatus, 60);
    assert.match(reply.err.message, /\[meta-mesh NO_ROUTE\] no route in .* matches/);
    assert.match(reply.err.message, /invoke org\.example\.DemoService#sayHello was error/);
    assert.equal(fleet.logs.v1!.calls.length, 0);
  });

  it('surfaces a provider exception as an Error with its message', async () => {
    mesh = await clientMesh(fleet.ports, `    - name: all\n      route:\n${to('v1')}`);
    const { demo } = demoClient(mesh);
    const reply = await demo.fail('no reason');
    assert.equal(reply.res, null);
    assert.ok(reply.err instanceof Error);
    assert.match(reply.err.message, /refused: no reason/);
  });

  it('runs middleware added after meshDubbo before the mesh, and fills provider attachments and the invoked host', async () => {
    mesh = await clientMesh(fleet.ports, `    - name: all\n      route:\n${to('v2')}`);
    const { dubbo, demo } = demoClient(mesh);
    let seen: { host?: string; port?: number; body?: unknown } = {};
    dubbo.use(async (ctx: { invokeHost: string; invokePort: number; body: unknown }, next: () => Promise<void>) => {
      await next();
      seen = { host: ctx.invokeHost, port: ctx.invokePort, body: ctx.body };
    });
    await demo.sayHello('z');
    assert.equal(seen.host, '127.0.0.1');
    assert.equal(seen.port, fleet.ports.v2);
    assert.deepEqual(seen.body, { err: null, res: 'hello z from v2' });
  });
});
