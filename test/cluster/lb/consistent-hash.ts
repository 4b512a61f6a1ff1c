// Checks shared by the RING_HASH and MAGLEV tests: key stickiness, spread,
// weights and how many keys move when a host leaves or becomes unavailable.
import * as assert from 'node:assert/strict';
import type { Endpoint } from '../../../lib/config/model';
import type { LoadBalancer } from '../../../lib/cluster/lb';
import { endpoints, keys as keyNames } from './lb-fixtures';
import { xxhash64 } from '../../../lib/protocol/xxhash64';

/** Hashed keys, as the route hands them to the balancer. */
const keys = (n: number): bigint[] => keyNames(n).map((k) => xxhash64(k));

export type HashBalancerFactory = (endpoints: readonly Endpoint[]) => LoadBalancer;

/** Address of the host each key goes to. */
function placement(make: HashBalancerFactory, eps: readonly Endpoint[], all: readonly bigint[], isAvailable?: (i: number) => boolean): string[] {
  const lb = make(eps);
  return all.map((hashKey) => eps[lb.pick({ hashKey, isAvailable })]!.address);
}

export function describeConsistentHash(make: HashBalancerFactory, maxMovedPerN: number): void {
  it('sends the same key to the same host every time, across rebuilds', () => {
    const eps = endpoints(10);
    const lb = make(eps);
    const all = keys(2_000);
    const first = all.map((hashKey) => lb.pick({ hashKey }));
    for (let round = 0; round < 3; round++) assert.deepEqual(all.map((hashKey) => lb.pick({ hashKey })), first);
    const rebuilt = make(eps);
    assert.deepEqual(all.map((hashKey) => rebuilt.pick({ hashKey })), first);
  });

  it('spreads keys over all hosts', () => {
    const eps = endpoints(10);
    const counts = new Map<string, number>();
    for (const host of placement(make, eps, keys(50_000))) counts.set(host, (counts.get(host) ?? 0) + 1);
    assert.equal(counts.size, 10);
    for (const [host, c] of counts) assert.ok(c > 2_500 && c < 7_500, `${host} got ${c} of 50000 keys`);
  });

  it('gives heavier hosts proportionally more keys', () => {
    const weights = [1, 2, 3, 4];
    const eps = endpoints(4, (i) => weights[i]!);
    const lb = make(eps);
    const counts = [0, 0, 0, 0];
    for (const hashKey of keys(100_000)) counts[lb.pick({ hashKey })]!++;
    counts.forEach((c, i) => {
      const expected = (100_000 * weights[i]!) / 10;
      assert.ok(Math.abs(c - expected) < expected * 0.25, `host ${i} (weight ${weights[i]}) got ${c}, expected about ${expected}`);
    });
  });

  it(`moves only about 1/N of keys when one of N hosts leaves (at most ${maxMovedPerN}/N)`, () => {
    for (const n of [5, 10, 50]) {
      const eps = endpoints(n);
      const all = keys(20_000);
      const before = placement(make, eps, all);
      const leaving = eps[Math.floor(n / 2)]!.address;
      const after = placement(make, eps.filter((e) => e.address !== leaving), all);
      let moved = 0;
      before.forEach((host, k) => (moved += host === after[k] ? 0 : 1));
      const share = moved / all.length;
      assert.ok(share >= 0.4 / n && share <= maxMovedPerN / n, `n=${n}: ${(share * 100).toFixed(1)}% of keys moved`);
      for (const host of after) assert.notEqual(host, leaving);
    }
  });

  it('sends an unavailable host’s keys elsewhere and moves few other keys (Envoy rebuilds over the available hosts)', () => {
    const eps = endpoints(10);
    const all = keys(10_000);
    const before = placement(make, eps, all);
    const after = placement(make, eps, all, (i) => i !== 4);
    const spread = new Set<string>();
    let others = 0;
    let otherMoved = 0;
    before.forEach((host, k) => {
      if (host === eps[4]!.address) {
        assert.notEqual(after[k], host);
        spread.add(after[k]!);
      } else {
        others++;
        if (after[k] !== host) otherMoved++;
      }
    });
    assert.ok(spread.size >= 3, `the unavailable host's keys went to only ${spread.size} hosts`);
    // A ring or table rebuilt over 9 hosts keeps most keys of the other hosts where they were.
    assert.ok(otherMoved / others < 0.1, `${otherMoved} of ${others} keys of available hosts moved`);
    // Still deterministic under unavailability.
    assert.deepEqual(placement(make, eps, all, (i) => i !== 4), after);
  });

  it('returns -1 only when no host is available, and picks at random without a hash key', () => {
    const eps = endpoints(6);
    const lb = make(eps);
    assert.equal(lb.pick({ hashKey: 7n, isAvailable: () => false }), -1);
    assert.equal(lb.pick({ hashKey: 7n, isAvailable: (i) => i === 5 }), 5);
    const seen = new Set<number>();
    for (let k = 0; k < 500; k++) seen.add(lb.pick());
    assert.equal(seen.size, 6);
    assert.equal(make([]).pick({ hashKey: 7n }), -1);
  });
}
