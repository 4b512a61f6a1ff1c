// XdsConfigSource against meta-mesh's local control plane, over real gRPC
// streams on 127.0.0.1: config arrives as one Snapshot, bad resources are
// NACKed while the last good config stays, and a restarted control plane is
// found again.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfigFiles, snapshotToJSON } from '../../lib/config';
import type { Snapshot } from '../../lib/config/model';
import { RouteTable } from '../../lib/route';
import { ControlPlaneServer, TYPE_RDS, XdsConfigSource } from '../../lib/xds';
import type { XdsConfigSourceOptions } from '../../lib/xds';
import { defined } from '../support/defined';

const DEMO = path.resolve(__dirname, '../../../test/fixtures/config/thrift-demo');
const HOST = 'thrift-sample-server.meta-thrift.svc.cluster.local';
const RC = `${HOST}_9090`;
const V1 = `outbound|9090|v1|${HOST}`;

/** Snapshot content without the parts xDS does not carry (fault, version, warnings). */
function comparable(s: Snapshot): unknown {
  const json = snapshotToJSON(s);
  for (const rc of Object.values(json.routeConfigs)) for (const r of rc.routes) delete (r as { fault?: unknown }).fault;
  return json.routeConfigs;
}

function nextSnapshot(list: Snapshot[], count: number): Promise<Snapshot> {
  return new Promise((resolve) => {
    const poll = () => (list.length >= count ? resolve(list[count - 1]!) : setImmediate(poll));
    poll();
  });
}

describe('XdsConfigSource with the local control plane', () => {
  let cp: ControlPlaneServer | undefined;
  let source: XdsConfigSource | undefined;
  afterEach(async () => {
    source?.close();
    source = undefined;
    await cp?.close();
    cp = undefined;
  });

  const start = async (opts: Partial<XdsConfigSourceOptions> = {}, seen: Snapshot[] = []) => {
    const target = `127.0.0.1:${cp!.port}`;
    source = await XdsConfigSource.start({ metaRds: target, ads: target, backoff: { initialMs: 20, maxMs: 200 }, ...opts }, (s) => seen.push(s));
    return seen;
  };

  it('turns MetaRDS routes, CDS clusters and EDS endpoints into one Snapshot equal to the YAML one', async () => {
    const expected = await loadConfigFiles([DEMO]);
    cp = await ControlPlaneServer.start({ config: [DEMO], port: 0, host: '127.0.0.1', watch: false });
    const seen = await start();
    assert.equal(seen.length, 1);
    const got = defined(seen[0], 'a snapshot');
    assert.deepEqual(comparable(got), comparable(expected));
    assert.deepEqual([...got.services.keys()], [`${HOST}:9090`]);
    // Only the clusters the routes name are asked for, with their endpoints.
    const routed = new Set(expected.routeConfigs.get(RC)!.routes.flatMap((r) => r.clusters.map((c) => c.cluster)));
    assert.deepEqual(new Set(got.clusters.keys()), routed);
    for (const name of routed) {
      const want = expected.clusters.get(name)!;
      const have = got.clusters.get(name)!;
      assert.equal(have.lbPolicy, want.lbPolicy);
      assert.equal(have.connectTimeoutMs, want.connectTimeoutMs);
      assert.deepEqual(have.endpoints.map((e) => [e.address, e.port, e.weight, e.healthy]), want.endpoints.map((e) => [e.address, e.port, e.weight, true]));
    }
    assert.equal(source!.dump().resources.every((r) => r.clientStatus === 'ACKED'), true);
  });

  it('asks for a service on demand and resolves once its routes are in a snapshot', async () => {
    cp = await ControlPlaneServer.start({ config: [DEMO], port: 0, host: '127.0.0.1', watch: false });
    const seen = await start({ services: ['unknown.svc:1'], resourceTimeoutMs: 200 });
    assert.equal(defined(seen[0], 'a snapshot').routeConfigs.size, 0);
    assert.match(defined(seen[0], 'a snapshot').warnings.join('\n'), /unknown\.svc_1 is not served/);
    await source!.watchService(HOST, 9090);
    assert.ok(source!.snapshot!.routeConfigs.has(RC));
    assert.ok(source!.snapshot!.clusters.has(V1));
  });

  it('NACKs a route with a regex RE2 rejects and a route with no cluster, keeping the last good snapshot', async () => {
    cp = await ControlPlaneServer.start({ config: [DEMO], port: 0, host: '127.0.0.1', watch: false });
    const nacks: string[] = [];
    cp.on('nack', (_t, message) => nacks.push(message));
    const seen = await start();
    const good = seen[0];
    const before = cp.version(TYPE_RDS);
    const bad = cp.setRawResources(TYPE_RDS, [
      {
        name: RC,
        virtual_hosts: [
          {
            name: 'dummy',
            routes: [
              { name: 'lookahead', match: { prefix: '/', headers: [{ name: 'method', safe_regex_match: { regex: '(?=a)b' } }] }, route: { cluster: V1 } },
              { name: 'nowhere', match: { prefix: '/' }, route: {} },
            ],
          },
        ],
      },
    ]);
    await new Promise<void>((resolve) => cp!.once('nack', () => resolve()));
    assert.match(defined(nacks[0], 'a NACK'), /lookahead/);
    assert.match(defined(nacks[0], 'a NACK'), /RE2/);
    assert.equal(seen.length, 1, 'no snapshot for a refused update');
    assert.equal(source!.snapshot, good);
    const entry = source!.dump().resources.find((r) => r.name === RC)!;
    assert.equal(entry.clientStatus, 'NACKED');
    assert.equal(entry.versionInfo, before, 'the version in use is the last good one');
    assert.equal(entry.errorState!.versionInfo, bad);
    assert.match(entry.errorState!.details, /RE2/);
    assert.match(defined(defined(source!.dump().servers[0], 'a server').versions[TYPE_RDS], 'the RDS version'), new RegExp(`^${before}$`));

    // The missing cluster alone is refused too, with its own reason.
    cp.setRawResources(TYPE_RDS, [{ name: RC, virtual_hosts: [{ name: 'dummy', routes: [{ name: 'nowhere', match: { prefix: '/' }, route: {} }] }] }]);
    await new Promise<void>((resolve) => cp!.once('nack', () => resolve()));
    assert.match(defined(nacks[1], 'a second NACK'), /'nowhere' names no cluster/);
    assert.equal(source!.snapshot, good);
  });

  it('reconnects to a restarted control plane and applies the config it then serves', async () => {
    cp = await ControlPlaneServer.start({ config: [DEMO], port: 0, host: '127.0.0.1', watch: false });
    const port = cp.port;
    const seen = await start();
    await cp.close();
    cp = undefined;
    // The control plane is gone: traffic keeps the last good snapshot.
    assert.equal(source!.snapshot, seen[0]);
    const changed = await loadConfigFiles([DEMO]);
    const routes = changed.routeConfigs.get(RC)!.routes;
    const only = { ...defined(routes[1], 'route 2'), name: 'all-to-v1', clusters: [{ cluster: V1, weight: 1 }], mirrors: [], hashPolicy: [] };
    const next: Snapshot = { ...changed, routeConfigs: new Map([[RC, { name: RC, routes: [only] }]]) };
    cp = await ControlPlaneServer.start({ snapshot: next, port, host: '127.0.0.1' });
    const s = await nextSnapshot(seen, 2);
    assert.deepEqual(s.routeConfigs.get(RC)!.routes.map((r) => r.name), ['all-to-v1']);
    // The RDS and ADS streams reconnect on their own backoff; the second may come back a moment later.
    while (!source!.dump().servers.every((x) => x.connected)) await new Promise((r) => setImmediate(r));
    assert.equal(source!.dump().servers.every((x) => x.connected), true);
  });

  it('moves routes to a cluster not asked for before with no snapshot in between that lacks it', async () => {
    // The CDS answer to the old subscription can cross the request for the new
    // cluster; it must not count the new cluster as deleted (gRPC waits for it).
    const base = await loadConfigFiles([DEMO]);
    const V2 = `outbound|9090|v2|${HOST}`;
    const routedTo = (cluster: string): Snapshot => {
      const route = { ...defined(base.routeConfigs.get(RC)!.routes[1], 'route 2'), name: 'all', match: [], clusters: [{ cluster, weight: 1 }], mirrors: [], hashPolicy: [] };
      return { ...base, routeConfigs: new Map([[RC, { name: RC, routes: [route] }]]) };
    };
    cp = await ControlPlaneServer.start({ snapshot: routedTo(V1), port: 0, host: '127.0.0.1' });
    const seen = await start({ services: [`${HOST}:9090`] });
    assert.deepEqual([...defined(seen[0], 'a snapshot').clusters.keys()], [V1]);
    for (let i = 1; i <= 5; i++) {
      cp.setSnapshot(routedTo(i % 2 === 1 ? V2 : V1));
      const s = await nextSnapshot(seen, i + 1);
      assert.deepEqual([...s.clusters.keys()], [i % 2 === 1 ? V2 : V1], `push ${i}: the snapshot holds the cluster its route names`);
      assert.deepEqual(s.warnings, []);
    }
    // A last push as a barrier: anything the earlier pushes caused arrives before its snapshot.
    cp.setSnapshot(routedTo(V1));
    assert.deepEqual([...(await nextSnapshot(seen, 7)).clusters.keys()], [V1]);
    assert.equal(seen.length, 7, 'one snapshot per push');
  });

  it('applies 10,000 routes pushed at once as one snapshot', async () => {
    const base = await loadConfigFiles([DEMO]);
    cp = await ControlPlaneServer.start({ snapshot: base, port: 0, host: '127.0.0.1' });
    const seen = await start();
    const template = defined(base.routeConfigs.get(RC)!.routes[0], 'route 1');
    const routes = Array.from({ length: 10_000 }, (_, i) => ({ ...template, name: `r${i}`, match: [{ name: 'method', kind: 'exact' as const, value: `m${i}` }] }));
    cp.setSnapshot({ ...base, routeConfigs: new Map([[RC, { name: RC, routes }]]) });
    const s = await nextSnapshot(seen, 2);
    assert.equal(s.routeConfigs.get(RC)!.routes.length, 10_000);
    assert.equal(RouteTable.compile(s.routeConfigs.get(RC)!).size, 10_000);
    // A last push as a barrier: a second snapshot of the big update would arrive before its one.
    cp.setSnapshot(base);
    assert.equal((await nextSnapshot(seen, 3)).routeConfigs.get(RC)!.routes.length, base.routeConfigs.get(RC)!.routes.length);
    assert.equal(seen.length, 3, 'one snapshot for the whole update');
  });

  it('keeps the same route config object when only endpoints change, so its table is not compiled again', async () => {
    const base = await loadConfigFiles([DEMO]);
    cp = await ControlPlaneServer.start({ snapshot: base, port: 0, host: '127.0.0.1' });
    const seen = await start();
    const v1 = base.clusters.get(V1)!;
    const moved = { ...v1, endpoints: v1.endpoints.map((e) => ({ ...e, port: e.port + 1 })) };
    cp.setSnapshot({ ...base, clusters: new Map([...base.clusters, [V1, moved]]) });
    const s = await nextSnapshot(seen, 2);
    assert.deepEqual(s.clusters.get(V1)!.endpoints.map((e) => e.port), moved.endpoints.map((e) => e.port), 'the endpoint change arrived');
    assert.equal(s.routeConfigs.get(RC), defined(seen[0], 'a snapshot').routeConfigs.get(RC), 'the unchanged route config is the same object');
    const dumped = source!.dump().resources.find((r) => r.name === RC)!;
    assert.equal((dumped.resource as { name?: string }).name, RC, 'the dump decodes the kept bytes again');
  });

  it('starts from the cache file while the control plane is unreachable', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meta-mesh-xds-'));
    const cacheFile = path.join(dir, 'last-good.json');
    try {
      cp = await ControlPlaneServer.start({ config: [DEMO], port: 0, host: '127.0.0.1', watch: false });
      const first = await start({ cacheFile });
      await source!.flushCache();
      source!.close();
      const port = cp.port;
      await cp.close();
      cp = undefined;
      const seen: Snapshot[] = [];
      source = await XdsConfigSource.start({ metaRds: `127.0.0.1:${port}`, ads: `127.0.0.1:${port}`, cacheFile, waitForConfigMs: 2000 }, (s) => seen.push(s));
      assert.deepEqual(comparable(defined(seen[0], 'a snapshot')), comparable(defined(first[0], 'a snapshot')));
      assert.equal(source.dump().resources.every((r) => r.fromCache === true), true);
    } finally {
      // A cache write still under way (a temporary file renamed into place) would land in the directory being removed
      // (CI saw ENOTEMPTY): the source is stopped, and the writes it had begun are waited for.
      const last = source;
      source = undefined;
      last?.close();
      await last?.flushCache();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects start after waitForConfigMs naming what is missing and the unreachable server', async () => {
    cp = await ControlPlaneServer.start({ config: [DEMO], port: 0, host: '127.0.0.1' });
    const port = cp.port;
    await cp.close();
    cp = undefined;
    await assert.rejects(
      XdsConfigSource.start({ metaRds: `127.0.0.1:${port}`, services: [`${HOST}:9090`], waitForConfigMs: 300, backoff: { initialMs: 20 } }, () => undefined),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, 'TIMEOUT');
        assert.match(err.message, new RegExp(`route configuration ${RC.replace(/\./g, '\\.')}`));
        assert.match(err.message, /not connected/);
        return true;
      },
    );
  });
});
