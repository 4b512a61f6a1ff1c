import * as assert from 'node:assert/strict';
import { RingHash } from '../../../lib/cluster/lb';
import { mulberry32 } from '../../support/mulberry32';
import { describeConsistentHash } from './consistent-hash';
import { endpoints } from './lb-fixtures';

describe('RingHash (RING_HASH)', () => {
  describeConsistentHash((eps) => new RingHash(eps, {}, { random: mulberry32(20) }), 2);

  it('sizes the ring by Envoy’s rule: enough points for the lightest host, within min and max', () => {
    // 10 equal hosts: ceil(0.1 x 1024) = 103 points each.
    assert.equal(new RingHash(endpoints(10)).size, 1030);
    // Lightest host has 1/1001 of the weight: 1 point for it needs a 1001-point ring at least.
    assert.equal(new RingHash(endpoints(2, (i) => (i === 0 ? 1 : 1000))).size, 2002);
    assert.equal(new RingHash(endpoints(8), { ringHash: { minimumRingSize: 4096 } }).size, 4096);
    const capped = new RingHash(endpoints(2, (i) => (i === 0 ? 1 : 100_000)), { ringHash: { maximumRingSize: 5_000 } });
    assert.ok(capped.size <= 5_001 && capped.hosts.includes(0), 'the light host keeps one point under the cap');
  });

  it('keeps the ring sorted', () => {
    const ring = new RingHash(endpoints(100, (i) => 1 + (i % 7)));
    for (let p = 1; p < ring.size; p++) assert.ok(ring.hashAt(p - 1) <= ring.hashAt(p));
  });
});
