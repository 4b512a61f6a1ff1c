import * as assert from 'node:assert/strict';
import { RoundRobin } from '../../../lib/cluster/lb';
import { endpoints, histogram } from './lb-fixtures';

describe('RoundRobin', () => {
  it('rotates through equal-weight endpoints, each once per cycle', () => {
    const lb = new RoundRobin(endpoints(5), {}, { random: () => 0.5 });
    const picks = Array.from({ length: 15 }, () => lb.pick());
    for (let cycle = 0; cycle < 3; cycle++) {
      assert.deepEqual([...picks.slice(cycle * 5, cycle * 5 + 5)].sort(), [0, 1, 2, 3, 4]);
    }
    assert.equal(picks[0], 2, 'the start comes from the injected random');
  });

  it('gives weighted endpoints turns exactly in proportion to weight, interleaved smoothly', () => {
    const lb = new RoundRobin(endpoints(3, (i) => [1, 2, 5][i]!));
    const picks = Array.from({ length: 800 }, () => lb.pick());
    const counts = [0, 0, 0];
    for (const p of picks) counts[p]!++;
    assert.deepEqual(counts, [100, 200, 500]);
    // Smooth: the weight-5 endpoint never takes more than 3 turns in a row.
    let run = 0;
    for (const p of picks) {
      run = p === 2 ? run + 1 : 0;
      assert.ok(run <= 3, 'weight-5 endpoint got a long burst');
    }
  });

  it('never picks unavailable endpoints and returns -1 when none is available', () => {
    for (const weight of [() => 1, (i: number) => i + 1]) {
      const lb = new RoundRobin(endpoints(4, weight));
      const counts = histogram(lb, 4, 1000, { isAvailable: (i) => i !== 1 && i !== 3 });
      assert.equal(counts[1], 0);
      assert.equal(counts[3], 0);
      assert.equal(lb.pick({ isAvailable: () => false }), -1);
    }
    assert.equal(new RoundRobin([]).pick(), -1);
  });

  it('ramps a newly added endpoint from 10% to full weight over the warmup window', () => {
    let now = 0;
    const lb = new RoundRobin(endpoints(4), { slowStart: { windowMs: 10_000 } }, { now: () => now });
    const context = { addedAt: (i: number) => (i === 3 ? 0 : -Infinity) };
    const share = (): number => histogram(lb, 4, 31_000, context)[3]! / 31_000;
    // Newcomer weight = max(10%, age/window): 0.1 at the start, 0.5 halfway, then 1.
    assert.ok(Math.abs(share() - 0.1 / 3.1) < 0.005, 'at age 0');
    now = 5_000;
    assert.ok(Math.abs(share() - 0.5 / 3.5) < 0.005, 'halfway');
    now = 10_000;
    assert.ok(Math.abs(share() - 0.25) < 0.005, 'after the window');
  });

  it('keeps equal shares when every endpoint is warming at once', () => {
    const lb = new RoundRobin(endpoints(4), { slowStart: { windowMs: 10_000 } }, { now: () => 1_000 });
    const counts = histogram(lb, 4, 4_000, { addedAt: () => 0 });
    for (const c of counts) assert.ok(Math.abs(c - 1_000) <= 2, `got ${counts.join(',')}`);
  });
});
