// Shared builders for the balancer tests: endpoints, pick histograms and
// share checks with bounds wide enough (6 sigma) that seeded runs never flake.
import * as assert from 'node:assert/strict';
import type { Endpoint, Locality } from '../../../lib/config/model';
import type { LoadBalancer, PickContext } from '../../../lib/cluster/lb';

export function endpoint(i: number, extra: Partial<Endpoint> = {}): Endpoint {
  return { address: `10.0.${i >> 8}.${i & 255}`, port: 9090, labels: {}, weight: 1, ...extra };
}

export function endpoints(n: number, weight: (i: number) => number = () => 1, locality?: (i: number) => Locality): Endpoint[] {
  return Array.from({ length: n }, (_, i) => endpoint(i, { weight: weight(i), ...(locality === undefined ? {} : { locality: locality(i) }) }));
}

export function histogram(lb: LoadBalancer, size: number, picks: number, context?: PickContext): number[] {
  const counts = new Array<number>(size).fill(0);
  for (let k = 0; k < picks; k++) {
    const i = lb.pick(context);
    assert.ok(i >= 0 && i < size, `pick ${k} returned ${i}`);
    counts[i]!++;
  }
  return counts;
}

/** Each bucket within 6 binomial standard deviations of its expected share. */
export function assertShares(counts: readonly number[], shares: readonly number[], label = 'shares'): void {
  const total = counts.reduce((a, b) => a + b, 0);
  const sum = shares.reduce((a, b) => a + b, 0);
  counts.forEach((c, i) => {
    const p = shares[i]! / sum;
    const sigma = Math.sqrt(total * p * (1 - p));
    const expected = total * p;
    assert.ok(Math.abs(c - expected) <= 6 * sigma + 1, `${label}: bucket ${i} got ${c}, expected ${expected.toFixed(0)} ± ${(6 * sigma).toFixed(0)}`);
  });
}

export function keys(count: number, prefix = 'user-'): string[] {
  return Array.from({ length: count }, (_, k) => `${prefix}${k}`);
}
