// Ring hash and maglev when hosts are ejected: Envoy's thread-aware balancers
// rebuild the ring / table from the healthy hosts on every change of health
// (ThreadAwareLoadBalancerBase::refresh over healthyHosts()), so a key lands
// where a fresh ring over the survivors puts it. The expected hosts below are
// computed here from Envoy's construction (xxHash64("ip:port_n") points, ketama
// search; maglev offset/skip permutations over the hosts sorted by address),
// independently of the balancers under test.
import * as assert from 'node:assert/strict';
import type { Endpoint } from '../../../lib/config/model';
import { Maglev, RingHash, loadBalancerFactory } from '../../../lib/cluster/lb';
import { xxhash64 } from '../../../lib/protocol/xxhash64';
import type { ClusterConfig } from '../../../lib/config/model';

const ports = [90, 91, 92, 93, 94, 95];
const hosts = (list: number[]): Endpoint[] => list.map((port) => ({ address: '127.0.0.1', port, labels: {}, weight: 1 }));

/** Envoy's ring over equal-weight hosts: points per host from the normalized-weight running sums, sorted by hash. */
function referenceRing(list: number[], minRing: number): { hash: bigint; port: number }[] {
  const share = 1 / list.length;
  const scale = Math.ceil(share * minRing) / share;
  const points: { hash: bigint; port: number }[] = [];
  let current = 0;
  let target = 0;
  for (const port of list) {
    target += scale * share;
    for (let k = 0; current < target; k++, current++) points.push({ hash: xxhash64(`127.0.0.1:${port}_${k}`), port });
  }
  return points.sort((a, b) => (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0));
}

function ringPick(ring: { hash: bigint; port: number }[], key: bigint): number {
  return (ring.find((p) => p.hash >= key) ?? ring[0]!).port;
}

/** Envoy's maglev table for equal weights: hosts in address order take turns claiming their next free permutation entry. */
function referenceMaglev(list: number[], size: number): number[] {
  const sorted = [...list].sort((a, b) => (`127.0.0.1:${a}` < `127.0.0.1:${b}` ? -1 : 1));
  const m = BigInt(size);
  const offset = sorted.map((p) => Number(xxhash64(`127.0.0.1:${p}`) % m));
  const skip = sorted.map((p) => Number(xxhash64(`127.0.0.1:${p}`, 1n) % (m - 1n)) + 1);
  const next = sorted.map(() => 0);
  const table = new Array<number>(size).fill(-1);
  let filled = 0;
  while (filled < size) {
    for (let i = 0; i < sorted.length && filled < size; i++) {
      let c = (offset[i]! + skip[i]! * next[i]!) % size;
      while (table[c] !== -1) c = (offset[i]! + skip[i]! * ++next[i]!) % size;
      table[c] = sorted[i]!;
      next[i]!++;
      filled++;
    }
  }
  return table;
}

/** Keys around every point of the full ring, and some spread over the 64-bit space. */
function keys(): bigint[] {
  const out: bigint[] = [];
  for (const p of referenceRing(ports, 12)) out.push(p.hash - 1n, p.hash, p.hash + 1n);
  for (let i = 0n; i < 64n; i++) out.push((i * 0x0400000000000000n + 0x123456789n) & 0xffffffffffffffffn);
  return out;
}

const ejected = 3; // port 93
const healthyPorts = ports.filter((_, i) => i !== ejected);
const withoutEjected = { isAvailable: (i: number) => i !== ejected, availabilityVersion: 1 };

describe('Consistent hashing after an outlier ejection (Envoy rebuilds from the healthy hosts)', () => {
  it('ring hash: every key goes where a ring over the five healthy hosts puts it', () => {
    const lb = new RingHash(hosts(ports), { ringHash: { minimumRingSize: 12 } });
    const healthyRing = referenceRing(healthyPorts, 12);
    assert.equal(healthyRing.length, 15, 'Envoy gives each of 5 hosts 3 points at minimum_ring_size 12');
    let movedOffTheWalk = 0;
    const fullRing = referenceRing(ports, 12);
    for (const key of keys()) {
      const got = ports[lb.pick({ hashKey: key, ...withoutEjected })]!;
      assert.equal(got, ringPick(healthyRing, key), `key ${key}`);
      // What walking forward on the old ring would have answered.
      const start = fullRing.findIndex((p) => p.hash >= key);
      const walked = [...fullRing.slice(start < 0 ? 0 : start), ...fullRing].find((p) => p.port !== 93)!.port;
      if (got !== walked) movedOffTheWalk++;
    }
    assert.ok(movedOffTheWalk > 0, 'the picks are the old walk-forward ones, not a rebuilt ring');
    assert.equal(lb.rebuilds, 1, 'one rebuild per change of health, not per pick');
  });

  it('ring hash: goes back to the full ring when the host returns, and rebuilds only when the healthy set changes', () => {
    const lb = new RingHash(hosts(ports), { ringHash: { minimumRingSize: 12 } });
    const full = referenceRing(ports, 12);
    for (const key of keys()) lb.pick({ hashKey: key, ...withoutEjected });
    // A new version with the same hosts out: no new ring.
    lb.pick({ hashKey: 1n, isAvailable: (i) => i !== ejected, availabilityVersion: 2 });
    assert.equal(lb.rebuilds, 1);
    for (const key of keys()) assert.equal(ports[lb.pick({ hashKey: key, isAvailable: () => true, availabilityVersion: 3 })], ringPick(full, key));
  });

  it('ring hash: a retry walks on past the host it tried instead of rebuilding', () => {
    const lb = new RingHash(hosts(ports), { ringHash: { minimumRingSize: 12 } });
    const key = referenceRing(ports, 12)[0]!.hash;
    const first = lb.pick({ hashKey: key, isAvailable: () => true, availabilityVersion: 1 });
    const retry = lb.pick({ hashKey: key, isAvailable: (i) => i !== first, availabilityVersion: -1, attempt: 1 });
    assert.notEqual(retry, first);
    assert.equal(lb.rebuilds, 0);
  });

  it('maglev: every key goes where a table over the five healthy hosts puts it', () => {
    const size = 251;
    const lb = new Maglev(hosts(ports), { maglev: { tableSize: size } });
    assert.deepEqual([...lb.table].map((i) => ports[i]), referenceMaglev(ports, size), 'the full table is the reference one');
    const healthy = referenceMaglev(healthyPorts, size);
    let changedHealthyKeys = 0;
    const fullTable = referenceMaglev(ports, size);
    for (let k = 0n; k < 2n * BigInt(size); k++) {
      const got = ports[lb.pick({ hashKey: k, ...withoutEjected })]!;
      assert.equal(got, healthy[Number(k % BigInt(size))], `key ${k}`);
      if (fullTable[Number(k % BigInt(size))] !== 93 && got !== fullTable[Number(k % BigInt(size))]) changedHealthyKeys++;
    }
    // A rebuilt maglev table moves a few keys of healthy hosts too (minimal, not zero, disruption), as in Envoy.
    assert.ok(changedHealthyKeys > 0);
    assert.equal(lb.rebuilds, 1);
  });

  it('builds the ring over the hosts EDS reports healthy, as Envoy does, with no outlier detection', () => {
    const eds = hosts(ports).map((e, i) => (i === ejected ? { ...e, healthy: false } : e));
    const cluster = { lbPolicy: 'RING_HASH', lb: { ringHash: { minimumRingSize: 12 } } } as unknown as ClusterConfig;
    const ring = loadBalancerFactory('RING_HASH')!(eds, cluster);
    const healthyRing = referenceRing(healthyPorts, 12);
    for (const key of keys()) assert.equal(ports[ring.pick({ hashKey: key })], ringPick(healthyRing, key), `key ${key}`);
  });

  it('does the same through the registered RING_HASH and MAGLEV balancers (priority and panic wrapper)', () => {
    const cluster = { lbPolicy: 'RING_HASH', lb: { ringHash: { minimumRingSize: 12 } } } as unknown as ClusterConfig;
    const ring = loadBalancerFactory('RING_HASH')!(hosts(ports), cluster);
    const healthyRing = referenceRing(healthyPorts, 12);
    for (const key of keys()) assert.equal(ports[ring.pick({ hashKey: key, ...withoutEjected })], ringPick(healthyRing, key));
    const maglevCluster = { lbPolicy: 'MAGLEV', lb: { maglev: { tableSize: 251 } } } as unknown as ClusterConfig;
    const maglev = loadBalancerFactory('MAGLEV')!(hosts(ports), maglevCluster);
    const table = referenceMaglev(healthyPorts, 251);
    for (let k = 0n; k < 251n; k++) assert.equal(ports[maglev.pick({ hashKey: k, ...withoutEjected })], table[Number(k)]);
  });
});
