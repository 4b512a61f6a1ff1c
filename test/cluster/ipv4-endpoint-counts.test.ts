// The census's IPv4 table: open addressing in typed arrays, checked against a plain Map.
import assert from 'node:assert/strict';
import { Ipv4EndpointCounts, parseIpv4 } from '../../lib/cluster/ipv4-endpoint-counts';

describe('Ipv4EndpointCounts', () => {
  it('reads only canonical dotted IPv4 text, so equal numbers mean equal strings', () => {
    assert.equal(parseIpv4('10.0.0.1', 0, 8), 0x0a000001);
    assert.equal(parseIpv4('255.255.255.255', 0, 15), 0xffffffff);
    assert.equal(parseIpv4('0.0.0.0', 0, 7), 0);
    assert.equal(parseIpv4('x10.1.2.3:80', 1, 9), 0x0a010203);
    for (const bad of ['010.0.0.1', '10.0.0.01', '256.0.0.1', '1.2.3', '1.2.3.4.5', '1..2.3', '.1.2.3', '1.2.3.', '', '::1', 'a.b.c.d', 'db.local', '1.2.3.4 ', '-1.2.3.4']) {
      assert.equal(parseIpv4(bad, 0, bad.length), -1, bad);
    }
  });

  it('counts up and down to zero, and forgets an endpoint at zero', () => {
    const t = new Ipv4EndpointCounts();
    assert.equal(t.add(1, 80, 1), 1);
    assert.equal(t.add(1, 80, 1), 2);
    assert.equal(t.add(1, 81, 1), 1);
    assert.equal(t.get(1, 80), 2);
    assert.equal(t.add(1, 80, -2), 0);
    assert.equal(t.get(1, 80), 0);
    assert.equal(t.get(1, 81), 1);
    assert.equal(t.size, 1);
    // A count may go below zero while steps of two updates interleave, and comes back.
    assert.equal(t.add(2, 80, -1), -1);
    assert.equal(t.size, 2);
    assert.equal(t.add(2, 80, 1), 0);
    assert.equal(t.size, 1);
  });

  it('grows past its first capacity and keeps every count', () => {
    const t = new Ipv4EndpointCounts();
    const first = t.capacity;
    const n = first * 4;
    let sawGrowing = 0;
    for (let i = 0; i < n; i++) {
      t.add(0x0a000000 + i, 9090, 1 + (i % 3));
      if (t.growing) {
        sawGrowing++;
        // Mid-move, entries are in either table: all still read back.
        if (i % 97 === 0) for (let k = 0; k <= i; k += 13) assert.equal(t.get(0x0a000000 + k, 9090), 1 + (k % 3), `${k} at ${i}`);
      }
    }
    // Each doubling moves the old entries a few per add, not all in one.
    assert.ok(sawGrowing > 100, `growing for ${sawGrowing} adds`);
    while (t.move(100));
    assert.equal(t.growing, false);
    assert.ok(t.capacity >= n * 2, `capacity ${t.capacity} for ${n}`);
    assert.equal(t.size, n);
    for (let i = 0; i < n; i++) assert.equal(t.get(0x0a000000 + i, 9090), 1 + (i % 3));
    assert.equal(t.get(0x0a000000 + n, 9090), 0);
    assert.equal(t.get(0x0a000000, 9091), 0);
  });

  it('agrees with a Map through random adds, removals and re-adds in a crowded table', () => {
    let seed = 7;
    const random = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const t = new Ipv4EndpointCounts();
    const model = new Map<string, number>();
    // Few distinct keys, many operations: long probe runs, and removals that must shift entries back.
    for (let step = 0; step < 200_000; step++) {
      const address = (0xfffffff0 + Math.floor(random() * 700)) >>> 0;
      const port = Math.floor(random() * 3);
      const n = random() < 0.5 ? 1 : -1;
      const key = `${address}:${port}`;
      const expected = (model.get(key) ?? 0) + n;
      if (expected === 0) model.delete(key);
      else model.set(key, expected);
      assert.equal(t.add(address, port, n), expected);
      if (step % 997 === 0) {
        assert.equal(t.size, model.size);
        for (const [k, v] of model) {
          const [a, p] = k.split(':').map(Number) as [number, number];
          assert.equal(t.get(a, p), v, k);
        }
      }
    }
    for (const [k, v] of model) {
      const [a, p] = k.split(':').map(Number) as [number, number];
      t.add(a, p, -v);
    }
    assert.equal(t.size, 0);
    assert.equal(t.get(0xfffffff0, 0), 0);
  });

  it('is made big enough for many endpoints at once when empty, so they go in without a doubling', () => {
    const t = new Ipv4EndpointCounts();
    const n = t.capacity * 8;
    t.reserve(n);
    assert.ok(t.capacity >= 2 * n, `capacity ${t.capacity} for ${n}`);
    const reserved = t.capacity;
    for (let i = 0; i < n; i++) {
      t.add(0x0a000000 + i, 80, 1);
      assert.equal(t.growing, false, `growing at ${i}`);
    }
    assert.equal(t.capacity, reserved);
    for (let i = 0; i < n; i++) assert.equal(t.get(0x0a000000 + i, 80), 1);
    // A table that holds entries is left as it is: making it bigger would move them all in one go.
    t.reserve(n * 4);
    assert.equal(t.capacity, reserved);
  });
});
