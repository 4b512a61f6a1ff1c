import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Mesh, MeshError, Metadata, parseConfig, type Call, type Filter, type Message } from 'meta-mesh';
import { EchoCodec, echoCodecFactory, echoFrame, payloadOf, startEchoServer } from '../support/echo-protocol';
import { freePort } from '../support/free-port';
import { EndpointCensus } from '../../lib/cluster/endpoint-census';

function yamlFor(host: string, ports: readonly number[]): string {
  return `apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: echo}
spec:
  hosts: [${host}]
  ports: [{number: 7000, name: tcp-metaprotocol-echo}]
  resolution: STATIC
  endpoints:
${ports.map((p) => `    - {address: 127.0.0.1, ports: {tcp-metaprotocol-echo: ${p}}}`).join('\n')}
`;
}

function echoCall(mesh: Mesh, host: string, port: number, method: string, payload: string): { call: Call; run: () => Promise<string> } {
  const outbound = mesh.outbound(host, port, echoCodecFactory);
  const codec = new EchoCodec();
  const decoded = codec.decode(echoFrame(1, 1, method, payload));
  const request = (decoded as { message: Message }).message;
  const call: Call = {
    direction: 'outbound',
    service: outbound.service,
    request,
    metadata: request.metadata,
    mutation: new Map(),
    codec,
    codecFactory: echoCodecFactory,
    encodeOptions: undefined,
    expectReply: true,
    startTime: performance.now(),
    timeoutMs: 5000,
    signal: mesh.callSignal(5000),
  };
  return { call, run: async () => payloadOf((await outbound.handle(call))!.message) };
}

describe('Mesh', function () {
  this.timeout(30_000);
  let echo: Awaited<ReturnType<typeof startEchoServer>>;
  before(async () => {
    echo = await startEchoServer();
  });
  after(() => {
    for (const s of echo.sockets) s.destroy();
    echo.server.close();
  });

  it('runs user outbound filters around the router, first listed outermost', async () => {
    const order: string[] = [];
    const tag =
      (name: string): Filter =>
      (next) =>
      async (call) => {
        order.push(`${name}>`);
        const reply = await next(call);
        order.push(`<${name} ${call.upstream}`);
        return reply;
      };
    const mesh = await Mesh.start({ snapshot: parseConfig([{ file: 'x.yaml', text: yamlFor('echo.svc', [echo.port]) }]), filters: { outbound: [tag('a'), tag('b')] } });
    try {
      const { run } = echoCall(mesh, 'echo.svc', 7000, 'echo', 'hi');
      assert.equal(await run(), 'hi');
      assert.deepEqual(order, ['a>', 'b>', `<b 127.0.0.1:${echo.port}`, `<a 127.0.0.1:${echo.port}`]);
    } finally {
      await mesh.close();
    }
  });

  it('refuses calls to an undeclared host, naming the fix, unless outboundTrafficPolicy is ALLOW_ANY', async () => {
    const strict = await Mesh.start();
    const open = await Mesh.start({ outboundTrafficPolicy: 'ALLOW_ANY' });
    try {
      await assert.rejects(echoCall(strict, '127.0.0.1', echo.port, 'echo', 'x').run(), (e: MeshError) => e.code === 'NO_ROUTE' && /ServiceEntry/.test(e.message) && /ALLOW_ANY/.test(e.message));
      assert.equal(await echoCall(open, '127.0.0.1', echo.port, 'echo', 'direct').run(), 'direct');
    } finally {
      await strict.close();
      await open.close();
    }
  });

  it('opens connections to a service ahead of its first call, paced in the background', async () => {
    const servers = await Promise.all(Array.from({ length: 24 }, () => startEchoServer()));
    const mesh = await Mesh.start({
      snapshot: parseConfig([{ file: 'x.yaml', text: yamlFor('wide.svc', servers.map((s) => s.port)) }]),
      preconnectPacing: { maxConcurrent: 2, minTimeMs: 25 },
    });
    const connected = () => servers.filter((s) => s.sockets.size > 0).length;
    try {
      mesh.outbound('wide.svc', 7000, echoCodecFactory);
      await new Promise((r) => setTimeout(r, 60));
      const early = connected();
      assert.ok(early < 24, `all ${early} endpoints were connected at once`);
      for (let i = 0; i < 300 && connected() < 24; i++) await new Promise((r) => setTimeout(r, 20));
      assert.equal(connected(), 24);
    } finally {
      await mesh.close();
      for (const s of servers) {
        for (const sock of s.sockets) sock.destroy();
        s.server.close();
      }
    }
  });

  it('dumps the config in force, upstream state and mirror counters as JSON', async () => {
    const mesh = await Mesh.start({ snapshot: parseConfig([{ file: 'x.yaml', text: yamlFor('echo.svc', [echo.port]) }], { version: 'v-test' }) });
    try {
      await echoCall(mesh, 'echo.svc', 7000, 'echo', 'x').run();
      const dump = JSON.parse(JSON.stringify(mesh.dump())) as { version: string; config: { clusters: Record<string, unknown> }; upstreams: { key: string }[] };
      assert.equal(dump.version, 'v-test');
      assert.ok(Object.keys(dump.config.clusters).includes('outbound|7000||echo.svc'));
      assert.ok(dump.upstreams.some((u) => u.key.endsWith(`127.0.0.1:${echo.port}`)));
    } finally {
      await mesh.close();
    }
  });

  it('keeps a synchronous applySnapshot that lands while a sliced apply counts its endpoints, and takes the sliced one\'s counts out again', async () => {
    const mesh = await Mesh.start({ snapshot: parseConfig([{ file: 'x.yaml', text: yamlFor('echo.svc', [7001]) }], { version: 'v1' }), preconnect: false });
    try {
      const sliced = parseConfig([{ file: 'x.yaml', text: yamlFor('echo.svc', [7002]) }], { version: 'v2' });
      const newer = parseConfig([{ file: 'x.yaml', text: yamlFor('echo.svc', [7003]) }], { version: 'v3' });
      // The census is the mesh's own; the newer snapshot is applied from inside the sliced apply's census count.
      const census = (mesh as unknown as { endpoints: EndpointCensus }).endpoints;
      const updateSteps = census.updateSteps.bind(census);
      let landed = false;
      census.updateSteps = function* (added, dropped) {
        if (!landed && added.some((c) => c.endpoints.some((e) => e.port === 7002))) {
          landed = true;
          yield;
          mesh.applySnapshot(newer);
        }
        return yield* updateSteps(added, dropped);
      };
      await mesh.applySnapshotInSlices(sliced);
      assert.ok(landed, 'the synchronous apply ran during the census count');
      assert.equal(mesh.snapshot.version, 'v3', 'the newer snapshot stays in force');
      assert.equal(census.has('127.0.0.1:7003'), true);
      assert.equal(census.has('127.0.0.1:7002'), false, 'the sliced state was never in force: its endpoints are not counted');
      assert.equal(census.has('127.0.0.1:7001'), false);
    } finally {
      await mesh.close();
    }
  });

  it('counts the endpoints of its first config after the start has resolved, and all of them before the next update', async () => {
    const ports = Array.from({ length: 3000 }, (_, i) => 20_000 + i);
    const first = parseConfig([{ file: 'x.yaml', text: yamlFor('echo.svc', ports) }], { version: 'v1' });
    // Endpoints counted in, by any update, until the start resolves.
    const counted: number[] = [];
    const updateSteps = EndpointCensus.prototype.updateSteps;
    EndpointCensus.prototype.updateSteps = function (added, dropped) {
      counted.push(added.reduce((n, c) => n + c.endpoints.length, 0));
      return updateSteps.call(this, added, dropped);
    };
    let mesh: Mesh;
    try {
      mesh = await Mesh.start({ snapshot: first, preconnect: false });
    } finally {
      EndpointCensus.prototype.updateSteps = updateSteps;
    }
    try {
      assert.deepEqual(counted.filter((n) => n > 0), [], 'the start counted no endpoint before it resolved');
      const census = (mesh as unknown as { endpoints: EndpointCensus }).endpoints;
      // An update at once (the start's count may still be running in slices): exact all the same.
      await mesh.applySnapshotInSlices(parseConfig([{ file: 'x.yaml', text: yamlFor('echo.svc', ports.slice(0, 1000)) }], { version: 'v2' }));
      assert.equal(census.hasDeferred, false);
      assert.equal(census.has('127.0.0.1:20999'), true);
      assert.equal(census.has('127.0.0.1:21000'), false);
      assert.equal(census.has('127.0.0.1:22999'), false);
    } finally {
      await mesh.close();
    }
  });

  it('keeps metadata keys lower-cased so rules match however the protocol spelled them', () => {
    const md = new Metadata({ 'X-User': 'a', Method: 'add' });
    assert.equal(md.get('x-user'), 'a');
    assert.equal(md.get('method'), 'add');
    assert.ok(new MeshError('NO_ROUTE', 'x') instanceof MeshError);
  });

  it('runs the thrift-canary demo, which exits by itself after mesh.close()', async () => {
    const script = path.resolve(__dirname, '../../examples/thrift-canary/run.js');
    // Free ports and a copy of the demo's YAML naming them: another checkout may be running the suite too.
    const [v1, v2] = [await freePort(), await freePort()];
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meta-mesh-demo-'));
    const config = path.join(dir, 'mesh.yaml');
    const demoYaml = fs.readFileSync(path.resolve(__dirname, '../../../examples/thrift-canary/mesh.yaml'), 'utf8');
    fs.writeFileSync(config, demoYaml.replace(': 19091', `: ${v1}`).replace(': 19092', `: ${v2}`));
    const env = { ...process.env, CALLS: '400', MESH_CONFIG: config, V1_PORT: String(v1), V2_PORT: String(v2) };
    const out = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, [script], { env, timeout: 20_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)));
    }).finally(() => fs.rmSync(dir, { recursive: true, force: true }));
    assert.match(out, /add\(2, 3\) = 5/);
    const addRow = /add\s+(\d+)\s+(\d+)/.exec(out);
    assert.ok(addRow !== null);
    assert.equal(addRow[1], '0');
  });
});
