import * as assert from 'node:assert/strict';
import { Maglev } from '../../../lib/cluster/lb';
import { hostKey } from '../../../lib/cluster/lb/ring-hash';
import { xxhash64 } from '../../../lib/protocol/xxhash64';
import { mulberry32 } from '../../support/mulberry32';
import { describeConsistentHash } from './consistent-hash';
import { endpoints } from './lb-fixtures';

describe('Maglev (MAGLEV)', () => {
  describeConsistentHash((eps) => new Maglev(eps, {}, { random: mulberry32(30) }), 2.5);

  it('fills a 65,537-entry table with near-equal shares for equal weights', () => {
    const lb = new Maglev(endpoints(7));
    assert.equal(lb.table.length, 65_537);
    const counts = new Array<number>(7).fill(0);
    for (const host of lb.table) counts[host]!++;
    for (const c of counts) assert.ok(Math.abs(c - 65_537 / 7) <= 1, `entries ${counts.join(',')}`);
  });

  it('fills every entry with the host Envoy’s permutation formula gives, at full size and with unequal weights', () => {
    // The builder keeps each host's place as a running sum; this recomputes (offset + skip × next) % size for every probe.
    for (const [count, weightOf] of [[1000, () => 1], [37, (i: number) => 1 + (i % 5)]] as const) {
      const eps = endpoints(count, weightOf);
      const size = 65_537;
      const big = BigInt(size);
      const sum = eps.reduce((a, e) => a + Math.max(1, e.weight), 0);
      const hosts = eps
        .map((e, index) => ({ index, key: hostKey(e), weight: Math.max(1, e.weight) / sum }))
        .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      const maxWeight = Math.max(...hosts.map((h) => h.weight));
      const offset = hosts.map((h) => Number(xxhash64(h.key) % big));
      const skip = hosts.map((h) => Number(xxhash64(h.key, 1n) % (big - 1n)) + 1);
      const next = hosts.map(() => 0);
      const target = hosts.map(() => 0);
      const expected = new Int32Array(size).fill(-1);
      let filled = 0;
      for (let round = 1; filled < size; round++) {
        for (let i = 0; i < hosts.length && filled < size; i++) {
          if (round * hosts[i]!.weight < target[i]!) continue;
          target[i]! += maxWeight;
          let c = (offset[i]! + skip[i]! * next[i]!) % size;
          while (expected[c] !== -1) c = (offset[i]! + skip[i]! * ++next[i]!) % size;
          expected[c] = hosts[i]!.index;
          next[i]!++;
          filled++;
        }
      }
      assert.deepEqual(new Maglev(eps).table, expected, `${count} hosts`);
    }
  });

  it('gives table entries in proportion to weight', () => {
    const weights = [1, 2, 4, 8];
    const lb = new Maglev(endpoints(4, (i) => weights[i]!));
    const counts = [0, 0, 0, 0];
    for (const host of lb.table) counts[host]!++;
    counts.forEach((c, i) => assert.ok(Math.abs(c / 65_537 - weights[i]! / 15) < 0.01, `entries ${counts.join(',')}`));
  });

  it('rounds a table size that is not prime up to the next prime', () => {
    assert.equal(new Maglev(endpoints(3), { maglev: { tableSize: 1000 } }).table.length, 1009);
  });
});
