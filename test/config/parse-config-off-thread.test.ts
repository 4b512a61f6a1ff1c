// Large configs are parsed in a worker thread and come back in parts. These
// tests force the worker on small configs (offThreadChars: 0) and check it
// changes nothing: the same snapshot (frozen, endpoints shared between a
// service's clusters as before), the same ConfigError with its lines, and a
// mesh that keeps its config when a large file turns bad.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Mesh } from 'meta-mesh';
import { ConfigError, type ConfigSource, type Endpoint, type Snapshot, parseConfig } from '../../lib/config';
import { Diagnostics } from '../../lib/config/diagnostics';
import { endIdleParseThread, expectParseOffThread, idleParseThreadId, parseConfigOffThread } from '../../lib/config/parse-config-off-thread';
import { readConfigFiles } from '../../lib/config/load-config-files';
import { SnapshotAssembly, snapshotParts } from '../../lib/config/snapshot-transfer';
import { SERVICE, generatedMesh, router } from './manifests';

const OFF = { offThreadChars: 0 };

/** The snapshot, or the ConfigError's message, of parsing `sources` in place or in the worker. */
async function outcome(sources: readonly ConfigSource[], offThread: boolean): Promise<Snapshot | string> {
  try {
    return offThread ? await parseConfigOffThread(sources, { ...OFF, version: '1' }, new Diagnostics()) : parseConfig(sources, { version: '1' });
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.message;
  }
}

/** Every plain object and array reachable from `value` (through maps) is frozen. */
function assertDeepFrozen(value: unknown, where = 'snapshot'): void {
  if (typeof value !== 'object' || value === null) return;
  if (value instanceof Map) {
    for (const [k, v] of value) assertDeepFrozen(v, `${where}.get(${String(k)})`);
    return;
  }
  assert.ok(Object.isFrozen(value), `${where} is frozen`);
  for (const [k, v] of Object.entries(value)) assertDeepFrozen(v, `${where}.${k}`);
}

describe('parsing large configs in a worker thread', function () {
  this.timeout(60_000);

  it('gives the snapshot the main thread gives, frozen, for a varied generated mesh', async () => {
    const sources = [
      { file: 'mesh.yaml', text: generatedMesh(12, 40) },
      { file: 'calc.yaml', text: `${SERVICE}---\n${router('    - name: all\n      route: [{destination: {host: calc.demo.svc.cluster.local, subset: v1}}]\n')}` },
    ];
    const inPlace = await outcome(sources, false);
    assert.notEqual(typeof inPlace, 'string', 'a valid config');
    const offThread = await outcome(sources, true);
    assert.deepStrictEqual(offThread, inPlace);
    assertDeepFrozen(offThread);
    const s = offThread as Snapshot;
    // 8 services of 2 ports and 4 of one (WorkloadEntries), 40 endpoints in the whole cluster and 20 in each subset; calc: 2 ports x (2 + 1 + 1).
    assert.equal([...s.clusters.values()].reduce((n, c) => n + c.endpoints.length, 0), 8 * 2 * 80 + 4 * 80 + 8, 'every endpoint of every cluster');
  });

  it('decodes files read as bytes in the thread: the same snapshot and the same problem lines as text, UTF-8 included', async () => {
    const text = `# Generated: déjà vu ✓ (UTF-8 before every document)\n${generatedMesh(4, 10)}`;
    const asBytes = (t: string) => [{ file: 'mesh.yaml', bytes: Buffer.from(t, 'utf8') }];
    const fromText = await outcome([{ file: 'mesh.yaml', text }], false);
    assert.notEqual(typeof fromText, 'string', 'a valid config');
    assert.deepStrictEqual(await parseConfigOffThread(asBytes(text), { ...OFF, version: '1' }, new Diagnostics()), fromText);

    const bad = text.replace('resolution: STATIC', 'resolution: STATIC\n  resolutoin: DNS');
    assert.notEqual(bad, text);
    const problem = await outcome([{ file: 'mesh.yaml', text: bad }], false);
    assert.match(String(problem), /resolutoin/);
    await assert.rejects(parseConfigOffThread(asBytes(bad), { ...OFF, version: '1' }, new Diagnostics()), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.message, problem);
      return true;
    });
  });

  it('keeps an endpoint that a service and its subset share as one object', async () => {
    const s = (await outcome([{ file: 'mesh.yaml', text: generatedMesh(3, 10) }], true)) as Snapshot;
    const whole = s.clusters.get('outbound|9090||svc0.scale.svc.cluster.local');
    const v1 = s.clusters.get('outbound|9090|v1|svc0.scale.svc.cluster.local');
    assert.ok(whole !== undefined && v1 !== undefined);
    assert.equal(v1.endpoints.length, 5);
    for (const e of v1.endpoints) assert.ok(whole.endpoints.includes(e), `${e.address} is the whole service's object`);
  });

  it('moves a snapshot in parts of a bounded size that rebuild it whole', () => {
    const snapshot = parseConfig([{ file: 'mesh.yaml', text: generatedMesh(6, 50) }], { version: '7' });
    const parts = [...snapshotParts(snapshot, 64)];
    for (const p of parts) {
      if (p.kind === 'endpoints') assert.ok(p.addresses.length <= 64, `${p.addresses.length} endpoints in one part`);
      if (p.kind === 'routeConfigs') assert.ok(p.routeConfigs.length <= 64);
    }
    assert.ok(parts.filter((p) => p.kind === 'endpoints').length >= (6 * 50) / 64, 'endpoints spread over parts');
    const assembly = new SnapshotAssembly();
    for (const p of parts) assembly.add(structuredClone(p));
    assert.deepStrictEqual(assembly.finish(), snapshot);
  });

  it('sends each endpoint of a service\'s clusters once, whatever order its subsets list them in', () => {
    const snapshot = parseConfig([{ file: 'mesh.yaml', text: generatedMesh(2, 6) }], { version: '7' });
    const [name, whole] = [...snapshot.clusters.entries()].find(([, c]) => c.subset === '') ?? assert.fail('a whole-service cluster');
    const [a, b, c, d] = whole.endpoints;
    assert.ok(a !== undefined && b !== undefined && c !== undefined && d !== undefined);
    const extra = Object.freeze({ ...a, address: '10.200.0.1' });
    const subset = (tag: string, endpoints: (typeof a)[]) => Object.freeze({ ...whole, name: `${name}-${tag}`, subset: tag, endpoints: Object.freeze(endpoints) });
    // In the service's order; out of it; with an endpoint of its own, then one of the service's, then its own again.
    const added = [subset('inOrder', [b, d]), subset('reversed', [d, a]), subset('own', [extra, c, extra]), subset('again', [a, extra])];
    const changed: Snapshot = { ...snapshot, clusters: new Map([...snapshot.clusters, ...added.map((x): [string, typeof x] => [x.name, x])]) };
    const parts = [...snapshotParts(changed, 3)];
    const sent = parts.reduce((n, p) => n + (p.kind === 'endpoints' ? p.addresses.length : 0), 0);
    const distinct = new Set([...changed.clusters.values()].flatMap((x) => x.endpoints)).size;
    assert.equal(sent, distinct, 'each endpoint object sent once');
    const assembly = new SnapshotAssembly();
    for (const p of parts) assembly.add(structuredClone(p));
    const rebuilt = assembly.finish();
    assert.deepStrictEqual(rebuilt, changed);
    const list = (n: string) => rebuilt.clusters.get(n)?.endpoints ?? assert.fail(n);
    const [ra, rb, rc, rd] = list(name);
    assert.deepEqual(list(`${name}-inOrder`), [rb, rd]);
    assert.equal(list(`${name}-inOrder`)[0], rb);
    assert.equal(list(`${name}-reversed`)[0], rd);
    assert.equal(list(`${name}-reversed`)[1], ra);
    const own = list(`${name}-own`);
    assert.equal(own[0], own[2], 'its own endpoint is one object');
    assert.equal(own[1], rc);
    assert.equal(list(`${name}-again`)[0], ra);
    assert.equal(list(`${name}-again`)[1], own[0]);
  });

  it('sends an endpoint of a shape its columns do not carry whole (an xDS health status)', () => {
    const snapshot = parseConfig([{ file: 'mesh.yaml', text: generatedMesh(2, 4) }], { version: '7' });
    const [name, first] = [...snapshot.clusters.entries()][0] ?? assert.fail('a cluster');
    const endpoints = first.endpoints.map((e, i) => (i === 1 ? Object.freeze({ ...e, healthy: false }) : e));
    const changed: Snapshot = { ...snapshot, clusters: new Map([...snapshot.clusters, [name, Object.freeze({ ...first, endpoints })]]) };
    const assembly = new SnapshotAssembly();
    for (const p of snapshotParts(changed, 3)) assembly.add(structuredClone(p));
    const rebuilt = assembly.finish();
    assert.deepStrictEqual(rebuilt, changed);
    assert.equal(rebuilt.clusters.get(name)?.endpoints[1]?.healthy, false);
  });

  it('sends an endpoint whole when its weight is beyond the integer columns (2^32 and more)', () => {
    const snapshot = parseConfig([{ file: 'mesh.yaml', text: generatedMesh(2, 4) }], { version: '7' });
    const [name, first] = [...snapshot.clusters.entries()][0] ?? assert.fail('a cluster');
    const endpoints = first.endpoints.map((e, i) => (i === 2 ? Object.freeze({ ...e, weight: 2 ** 32 + 5 }) : e));
    const changed: Snapshot = { ...snapshot, clusters: new Map([...snapshot.clusters, [name, Object.freeze({ ...first, endpoints })]]) };
    const assembly = new SnapshotAssembly();
    for (const p of snapshotParts(changed, 3)) assembly.add(structuredClone(p));
    assert.equal(assembly.finish().clusters.get(name)?.endpoints[2]?.weight, 2 ** 32 + 5);
  });

  it('shares the objects of the snapshot in force that the new one holds equal: untouched clusters, unchanged endpoints', async () => {
    const text = generatedMesh(4, 6);
    const parse = (t: string, current?: Snapshot) => parseConfigOffThread([{ file: 'mesh.yaml', text: t }], { ...OFF, version: '1' }, new Diagnostics(), current);
    const first = await parse(text);
    const cluster = (s: Snapshot, host: string, subset: string) =>
      [...s.clusters.values()].find((c) => c.host === `${host}.scale.svc.cluster.local` && c.subset === subset) ?? assert.fail(`cluster ${host} ${subset}`);

    const same = await parse(text, first);
    assert.deepStrictEqual(same, await parse(text));
    for (const [name, c] of first.clusters) assert.equal(same.clusters.get(name), c, `${name} is the object in force`);

    // One endpoint of svc0 moves (version v0): svc0's whole-service and v0 clusters are new, with every other endpoint the one in force.
    const moved = text.replace('address: 10.0.0.2\n', 'address: 10.0.0.99\n');
    assert.notEqual(moved, text);
    const next = await parse(moved, first);
    assert.deepStrictEqual(next, parseConfig([{ file: 'mesh.yaml', text: moved }], { version: '1' }));
    for (const subset of ['', 'v0']) {
      const before = cluster(first, 'svc0', subset);
      const after = cluster(next, 'svc0', subset);
      assert.notEqual(after, before);
      after.endpoints.forEach((e, i) => (e.address === '10.0.0.99' ? assert.notEqual(e, before.endpoints[i]) : assert.equal(e, before.endpoints[i], `${subset || 'svc0'} endpoint ${e.address}`)));
    }
    assert.equal(cluster(next, 'svc0', 'v1'), cluster(first, 'svc0', 'v1'));
    assert.equal(cluster(next, 'svc1', ''), cluster(first, 'svc1', ''));
    // The endpoint a service and its subset share stays one object.
    const shared = cluster(next, 'svc0', '').endpoints.find((e) => e.address === '10.0.0.4');
    assert.equal(
      cluster(next, 'svc0', 'v0').endpoints.find((e) => e.address === '10.0.0.4'),
      shared,
    );

    // A policy change keeps the endpoints but not the cluster; a label change makes the endpoint new.
    const policy = text.replace('connectTimeout: 250ms}}\n    outlierDetection: {consecutive5xxErrors: 3, interval: 5s, baseEjectionTime: 30s}\n  subsets:\n  - {name: v0, labels: {version: v0}}\n  - name: v1\n    labels: {version: v1}\n    trafficPolicy: {loadBalancer: {consistentHash: {httpHeaderName: user}}}\n---\napiVersion: metaprotocol.aeraki.io/v1alpha1\nkind: MetaRouter\nmetadata: {name: svc1', 'connectTimeout: 300ms}}\n    outlierDetection: {consecutive5xxErrors: 3, interval: 5s, baseEjectionTime: 30s}\n  subsets:\n  - {name: v0, labels: {version: v0}}\n  - name: v1\n    labels: {version: v1}\n    trafficPolicy: {loadBalancer: {consistentHash: {httpHeaderName: user}}}\n---\napiVersion: metaprotocol.aeraki.io/v1alpha1\nkind: MetaRouter\nmetadata: {name: svc1').replace('"topology.kubernetes.io/zone": z1\n    locality: region1/zone1', '"topology.kubernetes.io/zone": z9\n    locality: region1/zone1');
    const changed = await parse(policy, first);
    assert.deepStrictEqual(changed, parseConfig([{ file: 'mesh.yaml', text: policy }], { version: '1' }));
    const svc1Before = cluster(first, 'svc1', '');
    const svc1After = cluster(changed, 'svc1', '');
    assert.notEqual(svc1After, svc1Before);
    assert.equal(svc1After.connectTimeoutMs, 300);
    const relabelled = svc1After.endpoints.filter((e, i) => e !== svc1Before.endpoints[i]);
    assert.deepEqual(
      relabelled.map((e) => e.labels['topology.kubernetes.io/zone']),
      ['z9'],
      'only the relabelled endpoint is new',
    );
  });

  it('never takes an endpoint with a field it does not compare for an equal one of the snapshot in force', () => {
    const snapshot = parseConfig([{ file: 'mesh.yaml', text: generatedMesh(2, 4) }], { version: '7' });
    const [name, first] = [...snapshot.clusters.entries()][0] ?? assert.fail('a cluster');
    const withExtra = (extra: string): Snapshot => {
      const endpoints = first.endpoints.map((e, i) => (i === 1 ? (Object.freeze({ ...e, extra }) as typeof e) : e));
      return { ...snapshot, clusters: new Map([...snapshot.clusters, [name, Object.freeze({ ...first, endpoints })]]) };
    };
    const current = withExtra('a');
    const assembly = new SnapshotAssembly(current);
    for (const p of snapshotParts(withExtra('b'), 3)) assembly.add(structuredClone(p));
    const rebuilt = assembly.finish().clusters.get(name) ?? assert.fail('the cluster');
    assert.notEqual(rebuilt.endpoints[1], current.clusters.get(name)?.endpoints[1]);
    assert.equal((rebuilt.endpoints[1] as unknown as { extra: string }).extra, 'b');
    assert.equal(rebuilt.endpoints[0], current.clusters.get(name)?.endpoints[0], 'the others are shared');
  });

  it('shares endpoints that moved in their list (found by address), each endpoint in force for one new endpoint only', () => {
    const snapshot = parseConfig([{ file: 'mesh.yaml', text: generatedMesh(2, 6) }], { version: '7' });
    const [name, first] = [...snapshot.clusters.entries()][0] ?? assert.fail('a cluster');
    const withList = (endpoints: readonly Endpoint[]): Snapshot => ({ ...snapshot, clusters: new Map([...snapshot.clusters, [name, Object.freeze({ ...first, endpoints })]]) });
    const twin = Object.freeze({ ...(first.endpoints[0] ?? assert.fail('an endpoint')) });
    // In force: the endpoints with a twin of the first after it (equal in every field, another object).
    const inForce = [first.endpoints[0]!, twin, ...first.endpoints.slice(1)];
    const current = withList(inForce);
    // New: the same endpoints as new objects, rotated by two (as a regenerated file moves them), and one new address.
    const rotated = [...inForce.slice(2), ...inForce.slice(0, 2)].map((e, i) => Object.freeze(i === 2 ? { ...e, address: '10.9.9.9' } : { ...e }));
    const assembly = new SnapshotAssembly(current);
    for (const p of snapshotParts(withList(rotated), 3)) assembly.add(structuredClone(p));
    const rebuilt = assembly.finish().clusters.get(name) ?? assert.fail('the cluster');
    assert.notEqual(rebuilt, current.clusters.get(name), 'another list: a new cluster config');
    assert.deepStrictEqual(rebuilt.endpoints, rotated);
    rebuilt.endpoints.forEach((e, i) => {
      if (i === 2) assert.ok(!inForce.includes(e), 'the new address is a new endpoint');
      else assert.ok(inForce.includes(e), `endpoint ${i} (${e.address}) is the one in force`);
    });
    assert.equal(new Set(rebuilt.endpoints).size, rebuilt.endpoints.length, 'an endpoint in force stands in for one new endpoint only (the twins stay two)');
  });

  it('shares endpoints matched by host in list order when equal; one whose host matched but not its labels is new', () => {
    const snapshot = parseConfig([{ file: 'mesh.yaml', text: generatedMesh(2, 6) }], { version: '7' });
    const [name, first] = [...snapshot.clusters.entries()][0] ?? assert.fail('a cluster');
    const withList = (endpoints: readonly Endpoint[]): Snapshot => ({ ...snapshot, clusters: new Map([...snapshot.clusters, [name, Object.freeze({ ...first, endpoints })]]) });
    const [a, ...rest] = first.endpoints;
    assert.ok(a !== undefined && rest.length >= 3);
    const relabel = (e: Endpoint) => Object.freeze({ ...e, labels: Object.freeze({ ...e.labels, stage: 'canary' }) });
    // New: a new endpoint first (every other place shifts by one), the others as new equal objects, one of them relabelled.
    const fresh = Object.freeze({ ...a, address: '10.9.9.9' });
    const next = [fresh, a, ...rest].map((e, i) => (i === 2 ? relabel(e) : Object.freeze({ ...e })));
    const assembly = new SnapshotAssembly(withList(first.endpoints));
    for (const p of snapshotParts(withList(next), 3)) assembly.add(structuredClone(p));
    const rebuilt = assembly.finish().clusters.get(name) ?? assert.fail('the cluster');
    assert.deepStrictEqual(rebuilt.endpoints, next);
    assert.ok(!first.endpoints.includes(rebuilt.endpoints[0]!), 'the new address is a new endpoint');
    assert.equal(rebuilt.endpoints[1], a, 'shifted by one, still the one in force');
    assert.ok(!first.endpoints.includes(rebuilt.endpoints[2]!), 'the relabelled endpoint is new');
    rest.slice(1).forEach((e, i) => assert.equal(rebuilt.endpoints[i + 3], e, `endpoint ${i + 3} is the one in force`));
  });

  it('reports the problems of a bad config exactly as the main thread does, lines included', async () => {
    const big = generatedMesh(4, 20);
    const cases = [
      `${big}---\n${router('    - name: typo\n      mtach: {}\n      route: [{destination: {host: calc}}]\n')}`,
      big.replace('weight: 2\n', 'weight: two\n'),
      `${big}---\nkind: [unclosed\n`,
      `${big}---\napiVersion: example.com/v1\nkind: Other\nmetadata: {name: x}\n`, // a warning only: a snapshot
    ];
    for (const text of cases) {
      const sources = [{ file: 'big.yaml', text }];
      const inPlace = await outcome(sources, false);
      assert.deepStrictEqual(await outcome(sources, true), inPlace);
      if (typeof inPlace === 'string') assert.match(inPlace, /big\.yaml:\d+: /, 'the message points at a line');
      else assert.equal(inPlace.warnings.length, 1);
    }
  });

  it('parses one config after another on one thread, kept idle between them, also after a config with problems', async () => {
    const good = generatedMesh(3, 7);
    const first = await outcome([{ file: 'a.yaml', text: good }], true);
    const thread = idleParseThreadId();
    assert.notEqual(thread, undefined, 'the thread is kept for the next parse');
    const bad = await outcome([{ file: 'a.yaml', text: good.replace('weight: 2\n', 'weight: two\n') }], true);
    assert.equal(typeof bad, 'string');
    assert.equal(idleParseThreadId(), thread, 'a config with problems does not cost the thread');
    const changed = good.replace(/address: (\S+)/, 'address: 10.9.9.9');
    const again = await outcome([{ file: 'a.yaml', text: changed }], true);
    assert.equal(idleParseThreadId(), thread);
    assert.deepStrictEqual(again, await outcome([{ file: 'a.yaml', text: changed }], false), 'the second parse on the thread gives the in-place snapshot');
    assert.notDeepStrictEqual(again, first);
    // Two parses at once: each gets a thread, and one stays.
    const both = await Promise.all([outcome([{ file: 'a.yaml', text: good }], true), outcome([{ file: 'a.yaml', text: changed }], true)]);
    assert.deepStrictEqual(both, [first, again]);
    assert.notEqual(idleParseThreadId(), undefined);
  });

  it('starts the parser thread while the files are read, when they are large enough to need it, and parses on it', async () => {
    await endIdleParseThread();
    expectParseOffThread(1000, { offThreadChars: 1001 });
    assert.equal(idleParseThreadId(), undefined, 'a config parsed in place gets no thread');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meta-mesh-offthread-'));
    const file = path.join(dir, 'mesh.yaml');
    const text = generatedMesh(3, 7);
    fs.writeFileSync(file, text);
    fs.mkdirSync(path.join(dir, 'more'));
    fs.writeFileSync(path.join(dir, 'more', 'calc.yaml'), SERVICE);
    const sizes: number[] = [];
    const read = await readConfigFiles([file, path.join(dir, 'more')], new Diagnostics(), (bytes) => {
      sizes.push(bytes);
      expectParseOffThread(bytes, OFF);
    });
    assert.deepEqual(sizes, [Buffer.byteLength(text)], 'told the size of the file named, before reading; not those of a directory');
    assert.equal(read.length, 2);
    const started = idleParseThreadId();
    assert.notEqual(started, undefined, 'the thread is started before the parse');
    expectParseOffThread(Buffer.byteLength(text), OFF);
    assert.equal(idleParseThreadId(), started, 'an idle thread is there already: no second one');
    const snapshot = await parseConfigOffThread(read, { ...OFF, version: '1' }, new Diagnostics());
    assert.equal(idleParseThreadId(), started, 'the parse ran on the thread started ahead');
    assert.deepStrictEqual(snapshot, parseConfig(read.map((s) => ({ file: s.file, text: s.bytes.toString() })), { version: '1' }));
  });

  it('adds to the problems found before the parse (an unreadable file)', async () => {
    const diagnostics = new Diagnostics();
    diagnostics.file('missing.yaml');
    diagnostics.problem({ file: 'missing.yaml', document: '', field: '', message: 'cannot read this file (ENOENT); check the path' });
    await assert.rejects(parseConfigOffThread([{ file: 'mesh.yaml', text: generatedMesh(2, 3) }], OFF, diagnostics), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.deepEqual(
        err.problems.map((p) => p.file),
        ['missing.yaml'],
      );
      return true;
    });
  });

  it('keeps the last good config when a reload of a large file finds a problem', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meta-mesh-offthread-'));
    const file = path.join(dir, 'mesh.yaml');
    // Over OFF_THREAD_CHARS, so both the start and the reload go through the worker.
    const good = generatedMesh(30, 60);
    assert.ok(good.length > 256 * 1024, `${good.length} characters`);
    fs.writeFileSync(file, good);
    const mesh = await Mesh.start({ config: file, preconnect: false, logger: () => undefined });
    try {
      const before = mesh.snapshot;
      assert.equal(before.clusters.get('outbound|9090||svc29.scale.svc.cluster.local')?.endpoints.length, 60);
      fs.writeFileSync(file, good.replace('address: 10.7.0.4\n', 'address: 10.7.0.4\n    adress: 10.7.0.5\n'));
      await assert.rejects(mesh.reload(), (err: unknown) => {
        assert.ok(err instanceof ConfigError, String(err));
        assert.equal(err.problems.length, 1);
        assert.match(err.message, /mesh\.yaml:\d+: ServiceEntry scale\/svc7 \(document \d+\): spec\.endpoints\[4\]\.adress: unknown field 'adress'; did you mean 'address'\?/);
        return true;
      });
      assert.equal(mesh.snapshot, before, 'the last good config stays');
      fs.writeFileSync(file, good.replace('address: 10.7.0.4\n', 'address: 10.7.9.4\n'));
      const after = await mesh.reload();
      assert.equal(mesh.snapshot, after);
      assert.equal(after.clusters.get('outbound|9090||svc7.scale.svc.cluster.local')?.endpoints[4]?.address, '10.7.9.4');
    } finally {
      await mesh.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
