// The endpoint census counts, per address:port, the clusters in force that name it.
import assert from 'node:assert/strict';
import { EndpointCensus } from '../../lib/cluster/endpoint-census';
import type { ClusterConfig, Endpoint } from '../../lib/config/model';

function cluster(name: string, endpoints: [string, number][]): ClusterConfig {
  const list: Endpoint[] = endpoints.map(([address, port]) => ({ address, port, labels: {}, weight: 1 }));
  return { name, host: name, port: 9090, subset: '', endpoints: list, lbPolicy: 'ROUND_ROBIN', connectTimeoutMs: 1000 };
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
});
