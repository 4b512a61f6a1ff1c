import * as assert from 'node:assert/strict';
import { WeightedRandom } from '../../../lib/cluster/lb';
import { mulberry32 } from '../../support/mulberry32';
import { assertShares, endpoints, histogram } from './lb-fixtures';

describe('WeightedRandom (RANDOM)', () => {
  it('spreads equal-weight picks evenly', () => {
    const lb = new WeightedRandom(endpoints(10), {}, { random: mulberry32(1) });
    assertShares(histogram(lb, 10, 100_000), new Array(10).fill(1));
  });

  it('picks in proportion to weight', () => {
    const weights = [1, 2, 3, 10, 50, 1, 7];
    const lb = new WeightedRandom(endpoints(7, (i) => weights[i]!), {}, { random: mulberry32(2) });
    assertShares(histogram(lb, 7, 200_000), weights);
  });

  it('never picks unavailable endpoints and keeps the weights of the rest', () => {
    const weights = [1, 2, 3, 4];
    const lb = new WeightedRandom(endpoints(4, (i) => weights[i]!), {}, { random: mulberry32(3) });
    const counts = histogram(lb, 4, 100_000, { isAvailable: (i) => i !== 2 });
    assert.equal(counts[2], 0);
    assertShares(counts, [1, 2, 0, 4]);
    assert.equal(lb.pick({ isAvailable: () => false }), -1);
  });

  it('finds the last available endpoint among many unavailable ones', () => {
    const lb = new WeightedRandom(endpoints(1000), {}, { random: mulberry32(4) });
    for (let k = 0; k < 50; k++) assert.equal(lb.pick({ isAvailable: (i) => i === 777 }), 777);
  });

  it('ramps a newly added endpoint with slow start', () => {
    const lb = new WeightedRandom(endpoints(4), { slowStart: { windowMs: 1_000 } }, { random: mulberry32(5), now: () => 250 });
    const counts = histogram(lb, 4, 100_000, { addedAt: (i) => (i === 0 ? 0 : -Infinity) });
    assertShares(counts, [0.25, 1, 1, 1]);
  });
});
