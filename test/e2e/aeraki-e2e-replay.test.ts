// Aeraki's own e2e scenarios (test/e2e/metaprotocol, demo/metaprotocol-thrift),
// replayed on one machine with the manifests of test/fixtures/aeraki-e2e: real
// meta-mesh Dubbo providers and Python thrift servers, apache-dubbo-js and
// Node thrift clients on a meta-mesh, a real gRPC rate limit service on
// Envoy's rls.proto. Each scenario asserts what Aeraki's test asserts, with
// bounds derived from the binomial distribution where traffic is random.

import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as thrift from 'thrift';
import { Dubbo, java, type setting } from 'apache-dubbo-js';
import { Mesh } from 'meta-mesh';
import { createDubboServer, getCallMetadata, meshDubbo, meshRegistry, shimNodeUtilForDubbo } from 'meta-mesh/dubbo';
import { createThriftConnection } from 'meta-mesh/thrift';
import * as Calculator from '../../gen/calculator/js/Calculator';
import { RingHash } from '../../lib/cluster/lb';
import { xxhash64 } from '../../lib/protocol/xxhash64';
import { callsInFlight } from '../support/calls-in-flight';
import { freePort } from '../support/free-port';
import { startPythonServer, type PythonServer } from '../support/python-server';
import { TestRlsServer } from '../ratelimit/test-rls-server';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const SettingClass = (require('apache-dubbo-js/es7/setting') as { Setting: new () => typeof setting }).Setting;

// apache-dubbo-js calls util helpers Node 23 removed (a no-op on Node 20 and 22).
shimNodeUtilForDubbo();

const FIXTURES = path.resolve(__dirname, '../../../test/fixtures/aeraki-e2e');
const CLI = path.resolve(__dirname, '../../bin/meta-mesh.js');
const IFACE = 'org.apache.dubbo.samples.basic.api.DemoService';
const DUBBO_HOST = IFACE.toLowerCase();
const DUBBO_PORT = 20880;
const THRIFT_HOST = 'thrift-sample-server.meta-thrift.svc.cluster.local';
const THRIFT_PORT = 9090;
const quiet = () => undefined;

/** Copies fixture files (relative to FIXTURES) into a fresh directory, filling in ${NAME} placeholders. */
function scenarioDir(files: readonly string[], vars: Record<string, number>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meta-mesh-aeraki-e2e-'));
  files.forEach((f, i) => {
    const text = fs.readFileSync(path.join(FIXTURES, f), 'utf8').replace(/\$\{([A-Z0-9_]+)\}/g, (_, name: string) => {
      if (vars[name] === undefined) throw new Error(`${f}: no value for \${${name}}`);
      return String(vars[name]);
    });
    fs.writeFileSync(path.join(dir, `${String(i).padStart(2, '0')}-${path.basename(f)}`), text);
  });
  return dir;
}

interface DubboWorld {
  readonly dir: string;
  readonly client: Mesh;
  readonly provider: Mesh;
  /** Calls each provider version saw, with their attachments. */
  readonly seen: Record<'v1' | 'v2', { method: string; attachments: Record<string, string> }[]>;
  sayHello(name: string): Promise<{ err: Error | null; res: string | null }>;
  close(): Promise<void>;
}

const BASE = ['metaprotocol/serviceentry.yaml', 'metaprotocol/workloads.yaml', 'metaprotocol/rate-limit-server.yaml'];

/**
 * The e2e namespace: providers v1 and v2 (meta-mesh Dubbo servers that read the same manifests,
 * so MetaRouter rate limits apply on their side, as Aeraki installs them inbound) and a consumer mesh.
 */
async function dubboWorld(files: readonly string[], rlsPort = 1): Promise<DubboWorld> {
  const vars = { PROVIDER_V1_PORT: await freePort(), PROVIDER_V2_PORT: await freePort(), SECOND_PROVIDER_PORT: await freePort(), RLS_PORT: rlsPort };
  const dir = scenarioDir([...BASE, ...files], vars);
  const provider = await Mesh.start({ config: dir, watch: false, logger: quiet });
  const seen: DubboWorld['seen'] = { v1: [], v2: [] };
  for (const v of ['v1', 'v2'] as const) {
    const server = createDubboServer(provider, {
      service: { host: DUBBO_HOST, port: DUBBO_PORT },
      services: {
        [IFACE]: {
          sayHello(name: string) {
            seen[v].push({ method: 'sayHello', attachments: getCallMetadata()?.toJSON() ?? {} });
            return `Hello ${name}, response from dubbo-sample-provider-${v}`;
          },
        },
      },
    });
    await server.listen(v === 'v1' ? vars.PROVIDER_V1_PORT : vars.PROVIDER_V2_PORT);
  }
  const client = await Mesh.start({ config: dir, watch: false, logger: quiet });
  const dubbo = new Dubbo({
    application: { name: 'dubbo-sample-consumer' },
    register: meshRegistry(),
    dubboSetting: new SettingClass().match(IFACE, { version: '0.0.0' }),
    service: { demo: (d: Dubbo) => d.proxyService({ dubboInterface: IFACE, methods: { sayHello: (name: string) => [java.String(name)] } }) },
  });
  meshDubbo(dubbo, client);
  const demo = (dubbo.service as Record<string, unknown>).demo as { sayHello(name: string): Promise<{ err: Error | null; res: string | null }> };
  return {
    dir,
    client,
    provider,
    seen,
    sayHello: (name) => demo.sayHello(name),
    close: async () => {
      await client.close();
      await provider.close();
    },
  };
}

/** Which provider answered, from its reply text. */
const versionOf = (reply: { res: string | null }): string | undefined => /dubbo-sample-provider-(v\d)/.exec(reply.res ?? '')?.[1];

/** 4.5 standard deviations either side of n·p: a correct split fails about once in 150,000 runs. */
function binomialBounds(n: number, p: number): [number, number] {
  const sd = Math.sqrt(n * p * (1 - p));
  return [Math.floor(n * p - 4.5 * sd), Math.ceil(n * p + 4.5 * sd)];
}

function runCli(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr });
    });
  });
}

describe('Aeraki e2e replay (test/fixtures/aeraki-e2e)', function () {
  this.timeout(60_000);

  describe('Dubbo over MetaProtocol (test/e2e/metaprotocol)', () => {
    let world: DubboWorld | undefined;
    afterEach(async () => {
      await world?.close();
      world = undefined;
    });

    it('TestVersionRouting: metarouter-v1 sends every call to v1, metarouter-v2 to v2', async () => {
      for (const v of ['v1', 'v2']) {
        world = await dubboWorld(['metaprotocol/destinationrule.yaml', `metaprotocol/metarouter-${v}.yaml`]);
        for (let i = 0; i < 5; i++) assert.equal(versionOf(await world.sayHello('Aeraki')), v);
        await world.close();
        world = undefined;
      }
    });

    it('TestPercentageRouting: a 20/80 split stays within binomial bounds', async () => {
      world = await dubboWorld(['metaprotocol/destinationrule.yaml', 'metaprotocol/metarouter-traffic-splitting.yaml']);
      const n = 400;
      const replies = await callsInFlight(n, 32, (i) => world!.sayHello(`c${i}`));
      const failed = replies.filter((r) => r.err !== null);
      assert.equal(failed.length, 0, `${failed.length} calls failed, first: ${failed[0]?.err?.message}`);
      const v1 = replies.filter((r) => versionOf(r) === 'v1').length;
      const [lo, hi] = binomialBounds(n, 0.2);
      assert.ok(v1 >= lo && v1 <= hi, `v1 got ${v1} of ${n}, expected ${lo}..${hi}`);
      assert.equal(world.seen.v1.length + world.seen.v2.length, n);
    });

    for (const kind of ['exact', 'prefix', 'regex']) {
      it(`TestAttributeRouting (${kind}): sayHello skips the sayHello01 route and lands on v2`, async () => {
        world = await dubboWorld(['metaprotocol/destinationrule.yaml', `metaprotocol/metarouter-attribute-${kind}.yaml`]);
        for (let i = 0; i < 5; i++) assert.equal(versionOf(await world.sayHello('Aeraki')), 'v2');
        assert.equal(world.seen.v1.length, 0);
      });
    }

    it('TestConsistentHashLb: the subset’s own consistentHash on method pins every call to one provider', async () => {
      world = await dubboWorld(['metaprotocol/consistent-hash-lb/destinationrule.yaml', 'metaprotocol/consistent-hash-lb/metarouter-sample.yaml']);
      const route = world.client.snapshot.routeConfigs.get(`${DUBBO_HOST}_${DUBBO_PORT}`)?.routes[0];
      assert.deepEqual(route?.hashPolicy, ['method']);
      assert.equal(world.client.snapshot.clusters.get(`outbound|${DUBBO_PORT}|sample|${DUBBO_HOST}`)?.lbPolicy, 'RING_HASH');
      const versions = new Set<string | undefined>();
      for (let i = 0; i < 10; i++) versions.add(versionOf(await world.sayHello(`user-${i}`)));
      assert.equal(versions.size, 1, `calls spread over ${[...versions].join(', ')}`);
      // The provider is the one Envoy's ring (checked against Envoy's own vectors) gives xxHash64("sayHello").
      const cluster = world.client.snapshot.clusters.get(`outbound|${DUBBO_PORT}|sample|${DUBBO_HOST}`)!;
      const ring = new RingHash(cluster.endpoints, cluster.lb ?? {});
      const expected = cluster.endpoints[ring.pick({ hashKey: xxhash64('sayHello') })]!;
      assert.deepEqual([...versions], [expected.labels.version]);
    });

    it('TestLocalRateLimit: exactly 2 of 10 sayHello calls pass the provider’s condition bucket', async () => {
      world = await dubboWorld(['metaprotocol/destinationrule.yaml', 'metaprotocol/metarouter-local-ratelimit.yaml']);
      const replies: { err: Error | null; res: string | null }[] = [];
      for (let i = 0; i < 10; i++) replies.push(await world.sayHello('Aeraki'));
      assert.equal(replies.filter((r) => versionOf(r) !== undefined).length, 2);
      for (const r of replies.filter((x) => x.err !== null)) assert.match(r.err!.message, /OVER_LIMIT/);
      assert.equal(world.seen.v1.length, 2);
    });

    it('TestGlobalRateLimit: a MetaRouter with no routes keeps the default route and its global limit (5 per hour)', async () => {
      const rls = await TestRlsServer.start();
      // envoyproxy/ratelimit with the upstream config.yaml: domain production, method=sayHello, 5 requests per hour.
      let counted = 0;
      rls.behaviour = (req) => {
        const entry = req.descriptors[0]?.entries[0];
        if (req.domain !== 'production' || entry?.key !== 'method' || entry.value !== 'sayHello') return { code: 'OK' };
        return { code: ++counted <= 5 ? 'OK' : 'OVER_LIMIT' };
      };
      try {
        world = await dubboWorld(['metaprotocol/destinationrule.yaml', 'metaprotocol/metarouter-global-ratelimit.yaml'], rls.port);
        const routes = world.client.snapshot.routeConfigs.get(`${DUBBO_HOST}_${DUBBO_PORT}`)?.routes;
        assert.deepEqual(routes?.map((r) => [r.name, r.clusters]), [['default', [{ cluster: `outbound|${DUBBO_PORT}||${DUBBO_HOST}`, weight: 1 }]]]);
        // As Aeraki's test: call until one passes (the limiter's channel is opened by the first call), then 10 more.
        let success = 0;
        for (let i = 0; i < 20 && success === 0; i++) if (versionOf(await world.sayHello('Aeraki')) !== undefined) success++;
        const warmUp = rls.received.length;
        for (let i = 0; i < 10; i++) if (versionOf(await world.sayHello('Aeraki')) !== undefined) success++;
        assert.equal(warmUp, 1, 'the first call reached the rate limit service and passed');
        assert.equal(success, 5);
        assert.equal(rls.received.length, 11);
        assert.deepEqual(rls.received[0]?.descriptors.map((d) => d.entries), [[{ key: 'method', value: 'sayHello' }]]);
        assert.equal(rls.received[0]?.domain, 'production');
      } finally {
        await rls.close();
      }
    });

    it('TestTrafficMirror: v1 answers every call, v2 gets about half as mirrored copies', async () => {
      world = await dubboWorld(['metaprotocol/destinationrule.yaml', 'metaprotocol/traffic-mirroring.yaml']);
      const n = 200;
      for (let i = 0; i < n; i++) assert.equal(versionOf(await world.sayHello(`m${i}`)), 'v1');
      // Mirrors are fire-and-forget: wait until the mesh has none running or queued.
      const mirror = (): { sent: number; dropped: number; failed: number; running: number; queued: number } =>
        (world!.client.dump() as { mirror: { sent: number; dropped: number; failed: number; running: number; queued: number } }).mirror;
      const deadline = Date.now() + 20_000;
      while ((mirror().running > 0 || mirror().queued > 0) && Date.now() < deadline) await new Promise((r) => setImmediate(r));
      const stats = mirror();
      assert.equal(stats.dropped + stats.failed, 0, JSON.stringify(stats));
      assert.equal(world.seen.v1.length, n);
      assert.equal(world.seen.v2.length, stats.sent);
      const [lo, hi] = binomialBounds(n, 0.5);
      assert.ok(stats.sent >= lo && stats.sent <= hi, `v2 saw ${stats.sent} of ${n} mirrored, expected ${lo}..${hi}`);
    });

    it('TestHeaderMutation: the provider sees foo=bar and foo1=bar1 as attachments', async () => {
      world = await dubboWorld(['metaprotocol/destinationrule.yaml', 'metaprotocol/metarouter-header-mutation.yaml']);
      assert.equal(versionOf(await world.sayHello('Aeraki')), 'v1');
      const attachments = world.seen.v1[0]!.attachments;
      assert.equal(attachments.foo, 'bar');
      assert.equal(attachments.foo1, 'bar1');
    });

    it('no MetaRouter at all: one default route to the whole service (meta-mesh dump)', async () => {
      world = await dubboWorld(['metaprotocol/destinationrule.yaml']);
      const dumped = await runCli(['dump', '--config', world.dir]);
      assert.equal(dumped.code, 0, dumped.stderr);
      const out = JSON.parse(dumped.stdout) as { config: { routeConfigs: Record<string, { routes: { name: string; clusters: unknown }[] }> } };
      const routes = out.config.routeConfigs[`${DUBBO_HOST}_${DUBBO_PORT}`]?.routes;
      assert.equal(routes?.length, 1);
      assert.equal(routes?.[0]?.name, 'default');
      assert.deepEqual(routes?.[0]?.clusters, [{ cluster: `outbound|${DUBBO_PORT}||${DUBBO_HOST}`, weight: 1 }]);
      const answered = new Set<string | undefined>();
      for (let i = 0; i < 20; i++) answered.add(versionOf(await world.sayHello(`d${i}`)));
      assert.deepEqual([...answered].sort(), ['v1', 'v2']);
    });
  });

  describe('Thrift over MetaProtocol (demo/metaprotocol-thrift, Python thrift servers)', () => {
    let servers: PythonServer[] = [];
    let mesh: Mesh | undefined;
    after(async () => {
      await mesh?.close();
      await Promise.all(servers.map((s) => s.stop()));
    });

    it('metarouter-v1 → metarouter-v2 by editing the file: calls move from v1 to v2', async () => {
      servers = await Promise.all([startPythonServer('framed', 'binary', 'v1'), startPythonServer('framed', 'binary', 'v2')]);
      const dir = scenarioDir(
        ['metaprotocol-thrift/serviceentry.yaml', 'metaprotocol-thrift/workloads.yaml', 'metaprotocol-thrift/destinationrule.yaml', 'metaprotocol-thrift/metarouter-v1.yaml'],
        { SERVER_V1_PORT: servers[0]!.port, SERVER_V2_PORT: servers[1]!.port },
      );
      mesh = await Mesh.start({ config: dir, logger: quiet });
      const conn = createThriftConnection(mesh, THRIFT_HOST, THRIFT_PORT, { transport: 'framed', protocol: 'binary' });
      const client = thrift.createClient(Calculator, conn);
      for (let i = 0; i < 5; i++) assert.equal(await client.version(), 'v1');
      const reloaded = new Promise((resolve) => mesh!.once('config', resolve));
      const routerFile = fs.readdirSync(dir).find((f) => f.endsWith('metarouter-v1.yaml'))!;
      fs.writeFileSync(path.join(dir, routerFile), fs.readFileSync(path.join(FIXTURES, 'metaprotocol-thrift/metarouter-v2.yaml')));
      await reloaded;
      for (let i = 0; i < 5; i++) assert.equal(await client.version(), 'v2');
    });

    it('one-call-per-connection server (TThreadedServer): concurrent calls run in parallel on pooled connections', async () => {
      // Python's TThreadedServer serves one call at a time per connection. Both WorkloadEntries name the same server,
      // so on one shared socket per endpoint 5 calls of 300 ms would take at least 3 × 300 ms; pooled, about 300 ms.
      const one = await startPythonServer('framed', 'binary', 'v1');
      servers.push(one);
      const dir = scenarioDir(
        ['metaprotocol-thrift/serviceentry.yaml', 'metaprotocol-thrift/workloads.yaml', 'metaprotocol-thrift/destinationrule.yaml'],
        { SERVER_V1_PORT: one.port, SERVER_V2_PORT: one.port },
      );
      const own = await Mesh.start({ config: dir, watch: false, logger: quiet });
      try {
        const conn = createThriftConnection(own, THRIFT_HOST, THRIFT_PORT, { transport: 'framed', protocol: 'binary' });
        const client = thrift.createClient(Calculator, conn);
        assert.equal(await client.sleep(1), 1); // connect first, so the timing below is the calls alone
        const started = performance.now();
        const slept = await Promise.all(Array.from({ length: 5 }, () => client.sleep(300)));
        const elapsed = performance.now() - started;
        assert.deepEqual(slept, [300, 300, 300, 300, 300]);
        assert.ok(elapsed < 800, `5 concurrent 300 ms calls took ${elapsed.toFixed(0)} ms; serialized they take at least 900 ms`);
      } finally {
        await own.close();
      }
    });
  });
});
