import * as assert from 'node:assert/strict';
import type { ClusterConfig, Endpoint } from '../../../lib/config/model';
import { LocalityAware, RoundRobin, WeightedRandom, localityPriorities, loadBalancerFactory, type LbOptions } from '../../../lib/cluster/lb';
import { mulberry32 } from '../../support/mulberry32';
import { xxhash64 } from '../../../lib/protocol/xxhash64';
import { assertShares, endpoint, endpoints, histogram, keys } from './lb-fixtures';

/** Three hosts each in r1/z1 (local), r1/z2, r2/z3. */
const zoned = endpoints(9, () => 1, (i) => [{ region: 'r1', zone: 'z1' }, { region: 'r1', zone: 'z2' }, { region: 'r2', zone: 'z3' }][Math.floor(i / 3)]!);
const local: LbOptions = { locality: {}, localLocality: { region: 'r1', zone: 'z1' } };

function aware(eps: readonly Endpoint[], options: LbOptions, seed = 1): LocalityAware {
  const random = mulberry32(seed);
  return new LocalityAware(eps, options, (group) => new WeightedRandom(group, options, { random }), { random });
}

function cluster(lbPolicy: ClusterConfig['lbPolicy'], eps: readonly Endpoint[], lb?: LbOptions): ClusterConfig {
  return { name: 'outbound|9090||svc', host: 'svc', port: 9090, subset: '', endpoints: eps, lbPolicy, connectTimeoutMs: 1000, lb } as ClusterConfig;
}

describe('LocalityAware', () => {
  it('keeps every call in the local zone while its hosts are available', () => {
    const counts = histogram(aware(zoned, local), 9, 10_000, { isAvailable: () => true, availabilityVersion: 1 });
    assert.equal(counts.slice(3).reduce((a, b) => a + b, 0), 0);
    assertShares(counts.slice(0, 3), [1, 1, 1]);
  });

  it('fails over to the same region’s other zone when the local zone is down, then to the next region', () => {
    const lb = aware(zoned, local);
    const zoneDown = histogram(lb, 9, 3_000, { isAvailable: (i) => i >= 3, availabilityVersion: 1 });
    assert.equal(zoneDown.slice(0, 3).concat(zoneDown.slice(6)).reduce((a, b) => a + b, 0), 0);
    const regionDown = histogram(lb, 9, 3_000, { isAvailable: (i) => i >= 6, availabilityVersion: 2 });
    assert.equal(regionDown.slice(0, 6).reduce((a, b) => a + b, 0), 0);
  });

  it('spills load to the next priority once available hosts fall below 1/1.4 of a level', () => {
    // 5 local hosts with 3 available: health = min(100, 1.4 x 60) = 84%; 16% spills to the next zone.
    const eps = endpoints(10, () => 1, (i) => ({ region: 'r1', zone: i < 5 ? 'z1' : 'z2' }));
    const counts = histogram(aware(eps, local), 10, 50_000, { isAvailable: (i) => i !== 0 && i !== 1, availabilityVersion: 1 });
    assert.equal(counts[0]! + counts[1]!, 0);
    const localShare = (counts[2]! + counts[3]! + counts[4]!) / 50_000;
    assert.ok(Math.abs(localShare - 0.84) < 0.01, `local share ${localShare}`);
  });

  it('prefers the failover region named for ours over other regions', () => {
    const eps = endpoints(4, () => 1, (i) => ({ region: i < 2 ? 'r2' : 'r3', zone: 'z' }));
    const options: LbOptions = { locality: { failover: [{ from: 'r1', to: 'r3' }] }, localLocality: { region: 'r1', zone: 'z1' } };
    const counts = histogram(aware(eps, options), 4, 2_000, { isAvailable: () => true, availabilityVersion: 1 });
    assert.deepEqual([counts[0], counts[1]], [0, 0]);
    assert.deepEqual(
      localityPriorities(eps, options).map((level) => level.flatMap((g) => g.indices)),
      [[2, 3], [0, 1]],
    );
  });

  it('orders priorities by leading failoverPriority label matches', () => {
    const labels = [
      { 'topology.istio.io/network': 'n1', version: 'v1' },
      { 'topology.istio.io/network': 'n1', version: 'v2' },
      { 'topology.istio.io/network': 'n2', version: 'v1' },
    ];
    const eps = labels.map((l, i) => endpoint(i, { labels: l }));
    const options: LbOptions = {
      locality: { failoverPriority: ['topology.istio.io/network', 'version'] },
      localLabels: { 'topology.istio.io/network': 'n1', version: 'v1' },
    };
    assert.deepEqual(localityPriorities(eps, options).map((level) => level.flatMap((g) => g.indices)), [[0], [1], [2]]);
    const lb = aware(eps, options);
    assert.equal(lb.pick({ isAvailable: (i) => i !== 0, availabilityVersion: 1 }), 1);
  });

  it('splits calls by distribute weights and sends none to localities left out', () => {
    const options: LbOptions = {
      locality: { distribute: [{ from: 'r1/z1/*', to: { 'r1/z1/*': 80, 'r1/z2/*': 20 } }] },
      localLocality: { region: 'r1', zone: 'z1' },
    };
    const counts = histogram(aware(zoned, options), 9, 50_000);
    assert.equal(counts[6]! + counts[7]! + counts[8]!, 0);
    assertShares([counts[0]! + counts[1]! + counts[2]!, counts[3]! + counts[4]! + counts[5]!], [80, 20]);
  });

  it('balances over every host of a level in panic, when under 50% are available', () => {
    const eps = endpoints(10);
    const lb = aware(eps, {});
    // 4 of 10 available: below the 50% threshold, so unavailable hosts take calls too.
    const panic = histogram(lb, 10, 20_000, { isAvailable: (i) => i < 4, availabilityVersion: 1 });
    assertShares(panic, new Array(10).fill(1));
    // 5 of 10 available: at the threshold, the unavailable half gets nothing.
    const calm = histogram(lb, 10, 20_000, { isAvailable: (i) => i < 5, availabilityVersion: 2 });
    assert.equal(calm.slice(5).reduce((a, b) => a + b, 0), 0);
  });

  it('never picks unavailable hosts when the panic threshold is 0', () => {
    const lb = aware(endpoints(10), { healthyPanicThreshold: 0 });
    const counts = histogram(lb, 10, 5_000, { isAvailable: (i) => i === 9, availabilityVersion: 1 });
    assert.equal(counts[9], 5_000);
    assert.equal(lb.pick({ isAvailable: () => false, availabilityVersion: 2 }), -1);
  });

  it('counts availability again without a version, and never picks a host the caller ruled out', () => {
    const lb = aware(zoned, local);
    let down = -1;
    const context = { isAvailable: (i: number) => i !== down };
    histogram(lb, 9, 100, context);
    down = 0;
    assert.equal(histogram(lb, 9, 5_000, context)[0], 0);
  });

  it('leaves out endpoints EDS marks unhealthy', () => {
    const eps = endpoints(4).map((e, i) => ({ ...e, healthy: i !== 2 }));
    const lb = loadBalancerFactory('ROUND_ROBIN')!(eps, cluster('ROUND_ROBIN', eps));
    assert.equal(histogram(lb, 4, 300)[2], 0);
  });

  it('keeps hash keys sticky across priority levels', () => {
    const lb = loadBalancerFactory('RING_HASH')!(zoned, cluster('RING_HASH', zoned, local));
    const context = { isAvailable: (i: number) => i !== 0, availabilityVersion: 1 };
    const first = keys(500).map((k) => xxhash64(k)).map((hashKey) => lb.pick({ ...context, hashKey }));
    assert.deepEqual(keys(500).map((k) => xxhash64(k)).map((hashKey) => lb.pick({ ...context, hashKey })), first);
    assert.ok(!first.includes(0));
  });

  it('hands its inner balancer the endpoint list itself when one locality holds it all, and each locality its own hosts otherwise', () => {
    const seen: (readonly Endpoint[])[] = [];
    const record = (group: readonly Endpoint[]): RoundRobin => (seen.push(group), new RoundRobin(group));
    const flat = endpoints(5, () => 1, () => ({ region: 'r1', zone: 'z1' }));
    new LocalityAware(flat, {}, record);
    assert.equal(seen.length, 1);
    assert.equal(seen[0], flat, 'no copy of a whole list');
    seen.length = 0;
    new LocalityAware(zoned, local, record);
    assert.deepEqual(
      seen.map((g) => g.map((e) => zoned.indexOf(e))),
      [[0, 1, 2], [3, 4, 5], [6, 7, 8]],
    );
  });
});

describe('load balancer registry', () => {
  it('registers every built-in policy, reading tuning from cluster.lb', () => {
    const eps = endpoints(5);
    for (const policy of ['ROUND_ROBIN', 'RANDOM', 'LEAST_REQUEST', 'RING_HASH', 'MAGLEV'] as const) {
      const lb = loadBalancerFactory(policy)!(eps, cluster(policy, eps, { healthyPanicThreshold: 0 }), { random: mulberry32(9) });
      const counts = histogram(lb, 5, 1_000, { hashKey: policy === 'RING_HASH' || policy === 'MAGLEV' ? undefined : 7n });
      assert.ok(counts.every((c) => c > 0), `${policy}: ${counts.join(',')}`);
    }
    const plain = loadBalancerFactory('ROUND_ROBIN')!(eps, cluster('ROUND_ROBIN', eps, { healthyPanicThreshold: 0 }));
    assert.ok(plain instanceof RoundRobin, 'with nothing to do, the wrapper steps aside');
  });
});
