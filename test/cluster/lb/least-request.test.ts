import * as assert from 'node:assert/strict';
import { LeastRequest } from '../../../lib/cluster/lb';
import { mulberry32 } from '../../route/mulberry32';
import { assertShares, endpoints, histogram } from './lb-fixtures';

describe('LeastRequest (LEAST_REQUEST)', () => {
  it('spreads evenly when every host is idle', () => {
    const lb = new LeastRequest(endpoints(8), {}, { random: mulberry32(10) });
    assertShares(histogram(lb, 8, 80_000, { activeRequests: () => 0 }), new Array(8).fill(1));
  });

  it('avoids the busy host with two choices: it wins only when sampled twice', () => {
    const lb = new LeastRequest(endpoints(4), {}, { random: mulberry32(11) });
    const counts = histogram(lb, 4, 100_000, { activeRequests: (i) => (i === 0 ? 100 : 0) });
    // P(both samples hit host 0) = 1/16; the idle hosts share the rest.
    assertShares(counts, [1, 5, 5, 5]);
  });

  it('avoids busy hosts more with a larger choice count', () => {
    const lb = new LeastRequest(endpoints(4), { leastRequest: { choiceCount: 4 } }, { random: mulberry32(12) });
    const counts = histogram(lb, 4, 100_000, { activeRequests: (i) => (i === 0 ? 100 : 0) });
    assert.ok(counts[0]! < 100_000 / 100, `busy host got ${counts[0]}`);
  });

  it('weights unequal hosts by weight / (active + 1)', () => {
    // Host 1 has twice the weight but 3 requests in flight: 2/4 vs 1/1.
    const lb = new LeastRequest(endpoints(2, (i) => i + 1));
    const counts = histogram(lb, 2, 3_000, { activeRequests: (i) => (i === 1 ? 3 : 0) });
    assert.deepEqual(counts, [2_000, 1_000]);
    const idle = histogram(new LeastRequest(endpoints(2, (i) => i + 1)), 2, 3_000, { activeRequests: () => 0 });
    assert.deepEqual(idle, [1_000, 2_000]);
  });

  it('applies activeRequestBias as the exponent of (active + 1)', () => {
    const lb = new LeastRequest(endpoints(2, (i) => (i === 0 ? 1 : 4)), { leastRequest: { activeRequestBias: 2 } });
    // 4 / (1 + 1)^2 = 1 against 1 / 1: equal turns.
    const counts = histogram(lb, 2, 2_000, { activeRequests: (i) => (i === 1 ? 1 : 0) });
    assert.deepEqual(counts, [1_000, 1_000]);
  });

  it('never picks unavailable hosts', () => {
    for (const weight of [() => 1, (i: number) => i + 1]) {
      const lb = new LeastRequest(endpoints(5, weight), {}, { random: mulberry32(13) });
      const counts = histogram(lb, 5, 10_000, { isAvailable: (i) => i >= 3, activeRequests: (i) => (i === 4 ? 9 : 0) });
      assert.equal(counts[0]! + counts[1]! + counts[2]!, 0);
      assert.equal(lb.pick({ isAvailable: () => false }), -1);
    }
  });

  it('ramps a newly added host with slow start', () => {
    let now = 0;
    const lb = new LeastRequest(endpoints(2), { slowStart: { windowMs: 1_000 } }, { random: mulberry32(14), now: () => now });
    const context = { addedAt: (i: number) => (i === 1 ? 0 : -Infinity), activeRequests: () => 0 };
    const early = histogram(lb, 2, 20_000, context)[1]!;
    now = 2_000;
    const late = histogram(lb, 2, 20_000, context)[1]!;
    assert.ok(early < 20_000 * 0.2, `newcomer got ${early} of 20000 while warming`);
    assert.ok(Math.abs(late - 10_000) < 600, `newcomer got ${late} of 20000 once warm`);
  });
});
