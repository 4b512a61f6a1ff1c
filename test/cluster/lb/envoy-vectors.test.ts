// Ring hash and maglev land where Envoy lands. The expected values below are
// the ones Envoy's own unit tests assert for its implementation
// (test/extensions/load_balancing_policies/ring_hash/ring_hash_lb_test.cc
// "Basic", maglev_lb_test.cc "Basic" and "Weighted"): the same hosts
// (tcp://127.0.0.1:90..95), ring/table sizes, weights and 64-bit key hashes,
// so the ring points, table entries and picks are Envoy's, not ours. The
// xxHash64 known answers are the xxHash project's sanity-check values (XXH64
// of its generated sanity buffer) plus the ring points above.

import * as assert from 'node:assert/strict';
import type { Endpoint } from '../../../lib/config/model';
import { Maglev, RingHash } from '../../../lib/cluster/lb';
import { xxhash64, xxhash64Chain } from '../../../lib/protocol/xxhash64';

const hosts = (ports: number[], weights: number[] = []): Endpoint[] =>
  ports.map((port, i) => ({ address: '127.0.0.1', port, labels: {}, weight: weights[i] ?? 1 }));

/** xxHash's sanity buffer (xxhsum's fillTestBuffer): byte i is the top byte of a 64-bit generator, PRIME32_1 × PRIME64_1^i. */
function sanityBuffer(length: number): Uint8Array {
  const b = new Uint8Array(length);
  let gen = 2654435761n;
  for (let i = 0; i < length; i++) {
    b[i] = Number(gen >> 56n);
    gen = (gen * 11400714785074694797n) & 0xffffffffffffffffn;
  }
  return b;
}

describe('Envoy-compatible consistent hashing', () => {
  describe('xxHash64', () => {
    it('gives the xxHash reference answers for 0, 1, 14 and 222 bytes, seeds 0 and PRIME32', () => {
      const buf = sanityBuffer(222);
      const prime32 = 2654435761n;
      assert.equal(xxhash64(new Uint8Array(0)), 0xef46db3751d8e999n);
      assert.equal(xxhash64(new Uint8Array(0), prime32), 0xac75fda2929b17efn);
      assert.equal(xxhash64(buf.subarray(0, 1)), 0xe934a84adb052768n);
      assert.equal(xxhash64(buf.subarray(0, 1), prime32), 0x5014607643a9b4c3n);
      assert.equal(xxhash64(buf.subarray(0, 4)), 0x9136a0dca57457een);
      assert.equal(xxhash64(buf.subarray(0, 14)), 0x8282dcc4994e35c8n);
      assert.equal(xxhash64(buf.subarray(0, 14), prime32), 0xc3bd6bf63deb6df0n);
      assert.equal(xxhash64(buf), 0xb641ae8cb691c174n);
      assert.equal(xxhash64(buf, prime32), 0x20cb8ab7ae10c14an);
    });

    it('hashes strings as UTF-8 and chains values with the previous hash as seed (Envoy HashUtil)', () => {
      assert.equal(xxhash64('é'), xxhash64(Buffer.from('é', 'utf8')));
      assert.equal(xxhash64Chain([]), 0n);
      // Envoy's hash_test: HashUtil::xxHash64("foo").
      assert.equal(xxhash64('foo'), 3728699739546630719n);
      assert.equal(xxhash64Chain(['a', 'b']), xxhash64('b', xxhash64('a')));
    });
  });

  describe('ring hash', () => {
    // Envoy RingHashLoadBalancerTest.Basic: 6 hosts, minimum_ring_size 12.
    const ring = new RingHash(hosts([90, 91, 92, 93, 94, 95]), { ringHash: { minimumRingSize: 12 } });

    it('builds the ring of points Envoy builds, xxHash64("ip:port_n") sorted', () => {
      const expected: [number, bigint][] = [
        [94, 833437586790550860n],
        [92, 928266305478181108n],
        [90, 1033482794131418490n],
        [95, 3551244743356806947n],
        [93, 3851675632748031481n],
        [91, 5583722120771150861n],
        [91, 6311230543546372928n],
        [93, 7700377290971790572n],
        [95, 13144177310400110813n],
        [92, 13444792449719432967n],
        [94, 15516499411664133160n],
        [90, 16117243373044804889n],
      ];
      assert.equal(ring.size, 12);
      const actual = Array.from({ length: ring.size }, (_, p): [number, bigint] => [90 + ring.hosts[p]!, ring.hashAt(p)]);
      assert.deepEqual(actual, expected);
      assert.ok([1033482794131418490n, 16117243373044804889n].includes(xxhash64('127.0.0.1:90_0')));
    });

    it('picks the hosts Envoy picks for the same key hashes, wrapping past the last point', () => {
      assert.equal(ring.pick({ hashKey: 0n }), 4);
      assert.equal(ring.pick({ hashKey: 0xffffffffffffffffn }), 4);
      assert.equal(ring.pick({ hashKey: 3551244743356806947n }), 5);
      assert.equal(ring.pick({ hashKey: 3551244743356806948n }), 3);
      assert.equal(ring.pick({ hashKey: 16117243373044804880n }), 0);
    });

    it('sizes the ring as Envoy does for unequal weights: the lightest host gets ceil(min × minimum) points', () => {
      // weights 1:3 → normalized 0.25 / 0.75, scale = ceil(0.25 × 12) / 0.25 = 12 → 3 + 9 points.
      const weighted = new RingHash(hosts([90, 91], [1, 3]), { ringHash: { minimumRingSize: 12 } });
      assert.equal(weighted.size, 12);
      assert.equal([...weighted.hosts].filter((h) => h === 0).length, 3);
    });
  });

  describe('maglev', () => {
    it('fills the table Envoy fills for 6 equal hosts (size 7) and picks by hash % size', () => {
      const lb = new Maglev(hosts([90, 91, 92, 93, 94, 95]), { maglev: { tableSize: 7 } });
      assert.deepEqual([...lb.table], [2, 4, 0, 1, 5, 0, 3]);
      for (let i = 0; i < 21; i++) assert.equal(lb.pick({ hashKey: BigInt(i) }), [2, 4, 0, 1, 5, 0, 3][i % 7]);
    });

    it('does not depend on host order (entries are built in address order)', () => {
      const lb = new Maglev(hosts([95, 93, 91, 90, 92, 94]), { maglev: { tableSize: 7 } });
      assert.deepEqual([...lb.table].map((i) => [95, 93, 91, 90, 92, 94][i]), [92, 94, 90, 91, 95, 90, 93]);
    });

    it('fills the table Envoy fills for weights 1 and 2 (size 17)', () => {
      const lb = new Maglev(hosts([90, 91], [1, 2]), { maglev: { tableSize: 17 } });
      assert.deepEqual([...lb.table], [1, 0, 0, 1, 0, 1, 1, 0, 1, 1, 1, 1, 1, 0, 1, 0, 1]);
    });

    it('uses Envoy’s default table size 65537', () => {
      assert.equal(new Maglev(hosts([90])).table.length, 65537);
    });
  });
});
