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
});
