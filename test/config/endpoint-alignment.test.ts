// alignEndpoints matches the endpoints a cluster's replacement keeps, also when one more or less shifts the rest.
import assert from 'node:assert/strict';
import { alignEndpoints, type EndpointAlignment } from '../../lib/config/endpoint-alignment';
import type { Endpoint } from '../../lib/config/model';
import { runNow } from '../../lib/config/sliced-work';

const ep = (k: number, port = 9090): Endpoint => ({ address: `10.0.${k >> 8}.${k & 255}`, port, labels: {}, weight: 1 });
const range = (from: number, to: number): Endpoint[] => Array.from({ length: to - from }, (_, i) => ep(from + i));
const unmatched = (a: Uint8Array): number => a.reduce((n, x) => n + (x === 1 ? 0 : 1), 0);

/** Each matched pair names one host, the matches keep both lists' order, and the unmatched hosts are the multiset difference plus what both kept unmatched alike. */
function assertExact(before: readonly Endpoint[], after: readonly Endpoint[], a: EndpointAlignment): void {
  const key = (e: Endpoint) => `${e.address}:${e.port}`;
  const counts = new Map<string, number>();
  after.forEach((e, i) => a.matchedAfter[i] !== 1 && counts.set(key(e), (counts.get(key(e)) ?? 0) + 1));
  before.forEach((e, i) => a.matchedBefore[i] !== 1 && counts.set(key(e), (counts.get(key(e)) ?? 0) - 1));
  const truth = new Map<string, number>();
  for (const e of after) truth.set(key(e), (truth.get(key(e)) ?? 0) + 1);
  for (const e of before) truth.set(key(e), (truth.get(key(e)) ?? 0) - 1);
  for (const k of new Set([...counts.keys(), ...truth.keys()])) assert.equal(counts.get(k) ?? 0, truth.get(k) ?? 0, k);
  const keptAfter = after.filter((_, i) => a.matchedAfter[i] === 1).map(key);
  const keptBefore = before.filter((_, i) => a.matchedBefore[i] === 1).map(key);
  assert.deepEqual(keptAfter, keptBefore, 'matched in order, one to one');
}

describe('alignEndpoints', () => {
  it('matches every endpoint of lists shifted by one endpoint gone at the front and one new at the end', () => {
    const before = range(0, 1000);
    const after = range(1, 1001);
    const a = runNow(alignEndpoints(before, after));
    assertExact(before, after, a);
    assert.equal(unmatched(a.matchedBefore), 1);
    assert.equal(unmatched(a.matchedAfter), 1);
    assert.equal(a.matchedBefore[0], 0);
    assert.equal(a.matchedAfter[999], 0);
  });

  it('steps over a few endpoints inserted, removed or changed in the middle', () => {
    const before = range(0, 500);
    const after = [...range(0, 100), ep(9000), ep(9001), ...range(100, 200), ...range(205, 300), ep(301, 80), ...range(301, 500)];
    const a = runNow(alignEndpoints(before, after));
    assertExact(before, after, a);
    // 2 inserted, 5 removed, 1 changed in place (300 -> 301:80).
    assert.equal(unmatched(a.matchedAfter), 3);
    assert.equal(unmatched(a.matchedBefore), 6);
  });

  it('stays exact for lists edited at random, duplicates included', () => {
    let seed = 11;
    const random = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    for (let round = 0; round < 50; round++) {
      const before = Array.from({ length: Math.floor(random() * 300) }, () => ep(Math.floor(random() * 200)));
      const after = before.slice();
      for (let edits = Math.floor(random() * 20); edits > 0; edits--) {
        const at = Math.floor(random() * (after.length + 1));
        const r = random();
        if (r < 0.3) after.splice(at, 0, ep(Math.floor(random() * 400)));
        else if (r < 0.6) after.splice(at, 1);
        else if (r < 0.8) after[at] = ep(Math.floor(random() * 400), 80);
        else after.splice(at, 0, ...after.splice(Math.floor(random() * after.length), 3));
      }
      assertExact(before, after, runNow(alignEndpoints(before, after)));
    }
  });

  it('costs a few comparisons an endpoint for unrelated lists, in bounded steps', () => {
    const before = range(0, 50_000);
    const after = range(50_000, 100_000);
    const steps = alignEndpoints(before, after);
    let n = 0;
    let r = steps.next();
    for (; r.done !== true; r = steps.next()) n++;
    assertExact(before, after, r.value);
    assert.equal(unmatched(r.value.matchedAfter), 50_000);
    // Looking LOOK_AHEAD (8) places each way at every one of 50k places would be ~200 steps of 4096 comparisons.
    assert.ok(n >= 20 && n <= 90, `${n} steps`);
  });
});
