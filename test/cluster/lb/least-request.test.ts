import * as assert from 'node:assert/strict';
import { LeastRequest } from '../../../lib/cluster/lb';
import { mulberry32 } from '../../support/mulberry32';
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

  it('picks strictly by weight when every host is idle', () => {
    const lb = new LeastRequest(endpoints(4, (i) => i + 1), {}, { random: mulberry32(15) });
    assertShares(histogram(lb, 4, 100_000, { activeRequests: () => 0 }), [1, 2, 3, 4]);
  });

  it('keeps to the weights when load sits at the balance active * (active + 1) ∝ weight', () => {
    // Scores 1*2/2 = 2*3/6 = 3*4/12 = 1: every pair ties, so the first weighted draw wins.
    const weights = [2, 6, 12];
    const inFlight = [1, 2, 3];
    const lb = new LeastRequest(endpoints(3, (i) => weights[i]!), {}, { random: mulberry32(16) });
    assertShares(histogram(lb, 3, 100_000, { activeRequests: (i) => inFlight[i]! }), weights);
  });

  it('avoids a busy heavy host: it wins only when drawn every time', () => {
    // Host 3 holds 4/7 of the weight but is swamped: picked only when both draws are host 3.
    const lb = new LeastRequest(endpoints(4, (i) => (i === 3 ? 4 : 1)), {}, { random: mulberry32(17) });
    const counts = histogram(lb, 4, 100_000, { activeRequests: (i) => (i === 3 ? 50 : 0) });
    const busy = (4 / 7) ** 2;
    assertShares(counts, [(1 - busy) / 3, (1 - busy) / 3, (1 - busy) / 3, busy]);
  });

  it('avoids busy weighted hosts more with a larger choice count', () => {
    const lb = new LeastRequest(endpoints(4, (i) => (i === 3 ? 4 : 1)), { leastRequest: { choiceCount: 6 } }, { random: mulberry32(18) });
    const counts = histogram(lb, 4, 100_000, { activeRequests: (i) => (i === 3 ? 50 : 0) });
    // (4/7)^6 ≈ 3.5%.
    assert.ok(counts[3]! < 100_000 * 0.05, `busy host got ${counts[3]}`);
  });

  it('applies activeRequestBias as the exponent of (active + 1)', () => {
    // Host 0: weight 1, 1 in flight; host 1: weight 4, 2 in flight.
    // Bias 1: scores 1*2/1 = 2 against 2*3/4 = 1.5, so host 1 wins a mixed draw.
    // Bias 2: scores 1*4/1 = 4 against 2*9/4 = 4.5, so host 0 does.
    const context = { activeRequests: (i: number) => i + 1 };
    const weight = (i: number): number => (i === 0 ? 1 : 4);
    const one = new LeastRequest(endpoints(2, weight), {}, { random: mulberry32(19) });
    assertShares(histogram(one, 2, 50_000, context), [0.2 * 0.2, 1 - 0.2 * 0.2], 'bias 1');
    const two = new LeastRequest(endpoints(2, weight), { leastRequest: { activeRequestBias: 2 } }, { random: mulberry32(20) });
    assertShares(histogram(two, 2, 50_000, context), [1 - 0.8 * 0.8, 0.8 * 0.8], 'bias 2');
  });

  it('ignores requests in flight with activeRequestBias 0 (weighted random)', () => {
    const lb = new LeastRequest(endpoints(3, (i) => i + 1), { leastRequest: { activeRequestBias: 0 } }, { random: mulberry32(21) });
    assertShares(histogram(lb, 3, 60_000, { activeRequests: (i) => (i === 2 ? 100 : 0) }), [1, 2, 3]);
  });

  it('never picks unavailable hosts', () => {
    for (const weight of [() => 1, (i: number) => i + 1]) {
      const lb = new LeastRequest(endpoints(5, weight), {}, { random: mulberry32(13) });
      const counts = histogram(lb, 5, 10_000, { isAvailable: (i) => i >= 3, activeRequests: (i) => (i === 4 ? 9 : 0) });
      assert.equal(counts[0]! + counts[1]! + counts[2]!, 0);
      assert.equal(lb.pick({ isAvailable: () => false }), -1);
    }
  });

  it('ramps a newly added weighted host with slow start', () => {
    let now = 0;
    const lb = new LeastRequest(endpoints(2, (i) => i + 1), { slowStart: { windowMs: 1_000 } }, { random: mulberry32(22), now: () => now });
    const context = { addedAt: (i: number) => (i === 1 ? 0 : -Infinity), activeRequests: () => 0 };
    const early = histogram(lb, 2, 30_000, context)[1]!;
    now = 2_000;
    assertShares(histogram(lb, 2, 30_000, context), [1, 2], 'once warm');
    assert.ok(early < 30_000 * 0.3, `newcomer got ${early} of 30000 while warming`);
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
