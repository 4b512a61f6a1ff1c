// The endpoint census counts, per address:port, the clusters in force that name it.
import assert from 'node:assert/strict';
import { EndpointCensus } from '../../lib/cluster/endpoint-census';
import type { ClusterConfig, Endpoint } from '../../lib/config/model';

function cluster(name: string, endpoints: [string, number][]): ClusterConfig {
  const list: Endpoint[] = endpoints.map(([address, port]) => ({ address, port, labels: {}, weight: 1 }));
  return { name, host: name, port: 9090, subset: '', endpoints: list, lbPolicy: 'ROUND_ROBIN', connectTimeoutMs: 1000 };
}

/** Counts the census's adds to its IPv4 table from now on (each endpoint counted in or out is one). */
function countIpv4Adds(census: EndpointCensus): { n: number } {
  const ipv4 = (census as unknown as { ipv4: { add(address: number, port: number, n: number): number } }).ipv4;
  const add = ipv4.add.bind(ipv4);
  const counted = { n: 0 };
  ipv4.add = (address, port, n) => {
    counted.n++;
    return add(address, port, n);
  };
  return counted;
}

/** Runs an update's steps to the end: what it returned, and how many times it yielded. */
function runSteps<T>(update: Generator<void, T, void>): { value: T; steps: number } {
  let steps = 0;
  let r = update.next();
  for (; r.done !== true; r = update.next()) steps++;
  return { value: r.value, steps };
}

describe('EndpointCensus', () => {
  it('knows an endpoint while some cluster names it, by address and port, IPv6 included', () => {
    const census = new EndpointCensus();
    const a = cluster('a', [['10.0.0.1', 9090], ['10.0.0.2', 9090], ['::1', 9090]]);
    const b = cluster('b', [['10.0.0.1', 9090], ['10.0.0.1', 9091]]);
    assert.equal(census.update([a, b], []), false);
    for (const e of ['10.0.0.1:9090', '10.0.0.2:9090', '::1:9090', '10.0.0.1:9091']) assert.ok(census.has(e), e);
    assert.equal(census.has('10.0.0.2:9091'), false);
    assert.equal(census.has('10.0.0.3:9090'), false);
    assert.equal(census.has('no-port'), false);
    // b leaves: 10.0.0.1:9090 is still named by a; 10.0.0.1:9091 by nobody.
    assert.equal(census.update([], [b]), true);
    assert.ok(census.has('10.0.0.1:9090'));
    assert.equal(census.has('10.0.0.1:9091'), false);
    assert.equal(census.update([], [a]), true);
    assert.equal(census.has('10.0.0.1:9090'), false);
  });

  it('counts 100k endpoints over many clusters and forgets them all when they leave', () => {
    const census = new EndpointCensus();
    const clusters = Array.from({ length: 100 }, (_, i) => cluster(`c${i}`, Array.from({ length: 1000 }, (_, j): [string, number] => [`10.${i}.${j >> 8}.${j & 255}`, 9090])));
    census.update(clusters, []);
    assert.ok(census.has('10.99.3.231:9090'));
    assert.equal(census.update([], clusters.slice(1)), true);
    assert.ok(census.has('10.0.3.231:9090'));
    assert.equal(census.has('10.99.3.231:9090'), false);
  });

  it('counts IPv6 and DNS endpoints beside IPv4 ones, each by its own text', () => {
    const census = new EndpointCensus();
    const a = cluster('a', [['2001:db8::1', 9090], ['db.prod.svc', 6379], ['10.0.0.1', 9090], ['010.0.0.1', 9090], ['10.0.0.1', 70000]]);
    census.update([a], []);
    for (const e of ['2001:db8::1:9090', 'db.prod.svc:6379', '10.0.0.1:9090', '010.0.0.1:9090', '10.0.0.1:70000']) assert.ok(census.has(e), e);
    // Same address another way, or another port: not named.
    for (const e of ['2001:db8:0::1:9090', '2001:db8::1:9091', 'db.prod.svc:6380', 'DB.prod.svc:6379', '10.0.0.01:9090', '10.0.0.1:4464', '[2001:db8::1]:9090']) {
      assert.equal(census.has(e), false, e);
    }
    assert.equal(census.update([], [a]), true);
    for (const e of ['2001:db8::1:9090', 'db.prod.svc:6379', '10.0.0.1:9090', '010.0.0.1:9090', '10.0.0.1:70000']) assert.equal(census.has(e), false, e);
  });

  it('says an endpoint left only when its count reaches zero, and knows it again once re-added', () => {
    const census = new EndpointCensus();
    const ends: [string, number][] = [['10.1.0.1', 80], ['::1', 80], ['cache.local', 80]];
    const a = cluster('a', ends);
    const a2 = cluster('a', ends);
    census.update([a], []);
    // A new config object for the same endpoints (a YAML reload): counted in, then the old one out; nothing left.
    assert.equal(census.update([a2], [a]), false);
    for (const [address, port] of ends) assert.ok(census.has(`${address}:${port}`), address);
    assert.equal(census.update([], [a2]), true);
    for (const [address, port] of ends) assert.equal(census.has(`${address}:${port}`), false, address);
    census.update([a], []);
    for (const [address, port] of ends) assert.ok(census.has(`${address}:${port}`), address);
  });

  it('gives the same counts whatever order the steps of two updates interleave in', () => {
    const a = cluster('a', [['10.0.0.1', 80], ['h.local', 80]]);
    const b = cluster('b', [['10.0.0.1', 80], ['h.local', 80]]);
    const census = new EndpointCensus();
    census.update([a], []);
    // b replaces a, but the drop of a runs before b is counted in: counts go to zero, then back.
    const first = census.updateSteps([], [a]);
    const second = census.updateSteps([b], []);
    while (!first.next().done);
    assert.equal(census.has('10.0.0.1:80'), false);
    while (!second.next().done);
    assert.ok(census.has('10.0.0.1:80'));
    assert.ok(census.has('h.local:80'));
    // Out of order the other way: dropped before ever added, then added; the sum is zero.
    census.update([], [cluster('c', [['10.9.9.9', 80], ['x.local', 80]])]);
    assert.equal(census.has('10.9.9.9:80'), false);
    census.update([cluster('c', [['10.9.9.9', 80], ['x.local', 80]])], []);
    assert.equal(census.has('10.9.9.9:80'), false);
    assert.equal(census.has('x.local:80'), false);
  });

  it('counts a cluster replaced by one of its name by the positions that changed, with the same counts as counting both whole', () => {
    const ends = (shift: number): [string, number][] => Array.from({ length: 20 }, (_, j): [string, number] => [`10.0.0.${j + shift}`, 9090]);
    const a = cluster('a', [...ends(0), ['db.local', 6379]]);
    const b = cluster('b', ends(0));
    const census = new EndpointCensus();
    census.update([a, b], []);
    // a again with one endpoint moved and db.local moved to another place in the list: 10.0.0.0 is still named by b.
    const a2 = cluster('a', [['db.local', 6379], ...ends(1)]);
    assert.equal(census.update([a2], [a]), false, 'nothing left: 10.0.0.0 is still in b');
    for (let j = 0; j <= 20; j++) assert.ok(census.has(`10.0.0.${j}:9090`), `10.0.0.${j}`);
    assert.ok(census.has('db.local:6379'));
    // b goes: 10.0.0.0 was counted in once (b) and once (a), then out once with a; now out with b, it leaves.
    assert.equal(census.update([], [b]), true);
    assert.equal(census.has('10.0.0.0:9090'), false);
    assert.ok(census.has('10.0.0.1:9090'));
    // Lists of different lengths, and a name that comes twice on one side (counted whole, not paired).
    const a3 = cluster('a', ends(5).slice(0, 3));
    assert.equal(census.update([a3], [a2]), true);
    for (let j = 0; j <= 20; j++) assert.equal(census.has(`10.0.0.${j}:9090`), j >= 5 && j < 8, `10.0.0.${j}`);
    assert.equal(census.has('db.local:6379'), false);
    const twice = [cluster('a', ends(5).slice(0, 3)), cluster('a', ends(5).slice(0, 1))];
    assert.equal(census.update(twice, [a3]), false);
    assert.ok(census.has('10.0.0.5:9090'));
    assert.equal(census.update([], twice), true);
    for (let j = 0; j <= 30; j++) assert.equal(census.has(`10.0.0.${j}:9090`), false, `10.0.0.${j}`);
  });

  it('a reload that keeps most endpoints in place counts only the ones that moved, in few steps', () => {
    const list = (shift: number): [string, number][] => Array.from({ length: 10_000 }, (_, j): [string, number] => [`10.1.${(j + shift) >> 8}.${(j + shift) & 255}`, 9090]);
    const census = new EndpointCensus();
    const before = cluster('a', list(0));
    census.update([before], []);
    const moved = list(0);
    moved[5000] = ['10.9.9.9', 9090];
    const after = cluster('a', moved);
    const counted = countIpv4Adds(census);
    const { value, steps } = runSteps(census.updateSteps([after], [before]));
    assert.equal(value, true, '10.1.19.136 left');
    assert.equal(census.has('10.9.9.9:9090'), true);
    assert.equal(census.has('10.1.19.136:9090'), false);
    assert.equal(census.has('10.1.19.137:9090'), true);
    assert.equal(counted.n, 2, 'one endpoint counted in, one out');
    // Steps are by endpoints compared and counted: 20k of them, in steps of a few hundred.
    assert.ok(steps >= 40 && steps <= 160, `${steps} steps`);
  });

  it('counts a reload that shifts every endpoint by one (one gone at the front, one new at the end) by those two', () => {
    const list = (shift: number): [string, number][] => Array.from({ length: 1000 }, (_, j): [string, number] => [`10.1.${(j + shift) >> 8}.${(j + shift) & 255}`, 9090]);
    const census = new EndpointCensus();
    const before = cluster('a', list(0));
    census.update([before], []);
    const counted = countIpv4Adds(census);
    assert.equal(census.update([cluster('a', list(1))], [before]), true);
    assert.equal(counted.n, 2);
    assert.equal(census.has('10.1.0.0:9090'), false);
    assert.ok(census.has('10.1.0.1:9090'));
    assert.ok(census.has('10.1.3.232:9090'));
  });

  it('a reload that moved every endpoint but kept its objects (a regenerated file) counts only the difference, in steps', () => {
    const census = new EndpointCensus();
    const before = cluster('a', Array.from({ length: 10_000 }, (_, j): [string, number] => [`10.1.${j >> 8}.${j & 255}`, 9090]));
    census.update([before], []);
    // The first endpoint goes, a new one comes at the end: every other endpoint is the same object one place up.
    const fresh: Endpoint = { address: '10.9.9.9', port: 9090, labels: {}, weight: 1 };
    const after: ClusterConfig = { ...before, endpoints: [...before.endpoints.slice(1), fresh] };
    const counted = countIpv4Adds(census);
    const { value, steps } = runSteps(census.updateSteps([after], [before]));
    assert.equal(value, true, '10.1.0.0 left');
    assert.equal(counted.n, 2, 'one endpoint counted in, one out');
    assert.equal(census.has('10.1.0.0:9090'), false);
    assert.equal(census.has('10.9.9.9:9090'), true);
    assert.equal(census.has('10.1.39.15:9090'), true);
    assert.ok(steps >= 40 && steps <= 160, `${steps} steps`);
    // Shuffled (no order kept at all): still the right counts, whatever is matched.
    let seed = 7;
    const shuffled = [...after.endpoints].sort(() => ((seed = (seed * 48271) % 2147483647) & 1 ? 1 : -1));
    const third: ClusterConfig = { ...before, endpoints: shuffled.slice(0, 9000) };
    assert.equal(census.update([third], [after]), true);
    for (const e of after.endpoints) assert.equal(census.has(`${e.address}:${e.port}`), third.endpoints.includes(e), e.address);
    // Counted out whole, the census is empty again.
    assert.equal(census.update([], [third]), true);
    for (const e of [...before.endpoints, fresh]) assert.equal(census.has(`${e.address}:${e.port}`), false, e.address);
  });

  it('counts deferred clusters before it answers or updates, in steps, into a table made big enough at once', () => {
    const clusters = Array.from({ length: 10 }, (_, i) => cluster(`c${i}`, Array.from({ length: 1000 }, (_, j): [string, number] => [`10.${i}.${j >> 8}.${j & 255}`, 9090])));
    const census = new EndpointCensus();
    census.defer(clusters.slice(0, 5));
    census.defer(clusters.slice(5));
    assert.equal(census.hasDeferred, true);
    const ipv4 = (census as unknown as { ipv4: { capacity: number; growing: boolean } }).ipv4;
    // Two counts at once share the work; each ends once all is counted.
    const one = census.countDeferredSteps();
    const two = census.countDeferredSteps();
    let steps = 0;
    let a = one.next();
    let b = two.next();
    for (; a.done !== true || b.done !== true; steps++) {
      assert.equal(ipv4.growing, false, 'no doubling while it fills');
      if (a.done !== true) a = one.next();
      if (b.done !== true) b = two.next();
    }
    assert.ok(steps >= 20 && steps <= 48, `${steps} steps for 10k endpoints`);
    assert.ok(ipv4.capacity >= 20_000 && ipv4.capacity <= 32_768, `capacity ${ipv4.capacity}`);
    assert.equal(census.hasDeferred, false);
    assert.ok(census.has('10.9.3.231:9090'));
    // Dropping them all: every endpoint leaves, each was counted exactly once.
    assert.equal(census.update([], clusters), true);
    assert.equal(census.has('10.9.3.231:9090'), false);
    assert.equal(census.has('10.0.0.0:9090'), false);

    // Deferred, then an update runs before they are counted: it counts them first, so its drop is exact.
    census.defer([clusters[0]!, clusters[1]!]);
    assert.equal(census.update([], [clusters[1]!]), true);
    assert.equal(census.hasDeferred, false);
    assert.ok(census.has('10.0.0.1:9090'));
    assert.equal(census.has('10.1.0.1:9090'), false);
    // Deferred, then looked up at once: counted first.
    census.defer([clusters[2]!]);
    assert.ok(census.has('10.2.0.1:9090'));
    assert.equal(census.hasDeferred, false);
  });
});
