import * as assert from 'node:assert/strict';
import { Maglev } from '../../../lib/cluster/lb';
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
