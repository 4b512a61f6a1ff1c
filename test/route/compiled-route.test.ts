// A compiled route: weighted cluster picks, mutations, hash keys, bad config.
import assert from 'node:assert/strict';
import { Metadata, MeshError } from '../../lib/protocol';
import type { Route, WeightedCluster } from '../../lib/config';
import { CompiledRoute } from '../../lib/route';
import { xxhash64 } from '../../lib/protocol/xxhash64';
import { mulberry32 } from '../support/mulberry32';

function route(over: Partial<Route> = {}): Route {
  return {
    name: 'r',
    match: [],
    clusters: [{ cluster: 'outbound|9090|v1|svc', weight: 1 }],
    hashPolicy: [],
    mirrors: [],
    requestMutation: [],
    responseMutation: [],
    ...over,
  };
}

const weighted = (...ws: number[]): WeightedCluster[] => ws.map((weight, i) => ({ cluster: `c${i}`, weight }));

/** Pearson chi-square statistic of observed counts against weights. */
function chiSquare(counts: Map<string, number>, clusters: WeightedCluster[], n: number): number {
  const total = clusters.reduce((s, c) => s + c.weight, 0);
  let x2 = 0;
  for (const c of clusters) {
    const expected = (n * c.weight) / total;
    const d = (counts.get(c.cluster) ?? 0) - expected;
    x2 += (d * d) / expected;
  }
  return x2;
}

function pickMany(r: CompiledRoute, n: number, seed: number): Map<string, number> {
  const rnd = mulberry32(seed);
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const c = r.pickCluster(rnd());
    counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  return counts;
}

describe('CompiledRoute', () => {
  it('keeps the model route and its name, mirrors and hash policy', () => {
    const model = route({ name: 'canary', mirrors: [{ cluster: 'shadow', fraction: 0.5 }], hashPolicy: ['user'] });
    const r = new CompiledRoute(model);
    assert.equal(r.route, model);
    assert.equal(r.name, 'canary');
    assert.deepEqual(r.mirrors, [{ cluster: 'shadow', fraction: 0.5 }]);
    assert.deepEqual(r.hashPolicy, ['user']);
  });

  describe('pickCluster', () => {
    it('returns the only cluster whatever its weight', () => {
      const r = new CompiledRoute(route({ clusters: [{ cluster: 'only', weight: 0 }] }));
      assert.equal(r.pickCluster(0), 'only');
      assert.equal(r.pickCluster(0.999999), 'only');
    });

    it('splits 10,000 picks in proportion to 10/30/60 within chi-square tolerance', () => {
      const clusters = weighted(10, 30, 60);
      const counts = pickMany(new CompiledRoute(route({ clusters })), 10_000, 42);
      // 2 degrees of freedom: 13.82 is the p = 0.001 critical value.
      assert.ok(chiSquare(counts, clusters, 10_000) < 13.82, JSON.stringify([...counts]));
      assert.equal([...counts.values()].reduce((a, b) => a + b, 0), 10_000);
    });

    it('splits picks in proportion across 20 clusters (binary-search path)', () => {
      const clusters = weighted(...Array.from({ length: 20 }, (_, i) => i + 1));
      const counts = pickMany(new CompiledRoute(route({ clusters })), 10_000, 7);
      // 19 degrees of freedom: 43.82 is the p = 0.001 critical value.
      assert.ok(chiSquare(counts, clusters, 10_000) < 43.82, JSON.stringify([...counts]));
    });

    it('maps the ends of [0, 1) to the first and last clusters', () => {
      for (const n of [3, 20]) {
        const r = new CompiledRoute(route({ clusters: weighted(...Array.from({ length: n }, () => 1)) }));
        assert.equal(r.pickCluster(0), 'c0');
        assert.equal(r.pickCluster(1 - Number.EPSILON), `c${n - 1}`);
        assert.equal(r.pickCluster(0.5), `c${Math.floor(n / 2)}`);
      }
    });

    it('never picks a zero-weight cluster', () => {
      for (const ws of [[0, 1, 0, 1, 0], [0, 0, 5], [...Array.from({ length: 15 }, () => 0), 1, 0, 2, 0, 0]]) {
        const r = new CompiledRoute(route({ clusters: weighted(...ws) }));
        for (let i = 0; i < 1000; i++) {
          const c = r.pickCluster(i / 1000);
          assert.notEqual(ws[Number(c.slice(1))], 0, `picked ${c} for ${i / 1000} from ${ws}`);
        }
        assert.notEqual(ws[Number(r.pickCluster(1 - Number.EPSILON).slice(1))], 0);
      }
    });

    it('rejects weighted clusters with no positive weight, a negative weight or no cluster at all', () => {
      for (const clusters of [weighted(0, 0), weighted(1, -1), weighted(1, Number.NaN), []]) {
        assert.throws(() => new CompiledRoute(route({ clusters })), (e: unknown) => e instanceof MeshError && e.code === 'CONFIG');
      }
    });
  });

  describe('mutations', () => {
    it('prebuilds request and response mutations as Maps', () => {
      const r = new CompiledRoute(route({ requestMutation: [['x-env', 'canary'], ['x-tier', 'gold']], responseMutation: [['x-served-by', 'v2']] }));
      assert.deepEqual([...(r.requestMutation ?? [])], [['x-env', 'canary'], ['x-tier', 'gold']]);
      assert.equal(r.responseMutation?.get('x-served-by'), 'v2');
    });

    it('leaves mutations undefined when the route has none', () => {
      const r = new CompiledRoute(route());
      assert.equal(r.requestMutation, undefined);
      assert.equal(r.responseMutation, undefined);
    });
  });

  describe('hashKey', () => {
    it('is undefined without a hash policy', () => {
      assert.equal(new CompiledRoute(route()).hashKey(new Metadata({ user: 'u1' })), undefined);
    });

    it('is xxHash64 of the value of a single key, or of "" when it is absent', () => {
      const r = new CompiledRoute(route({ hashPolicy: ['user'] }));
      assert.equal(r.hashKey(new Metadata({ user: 'u1' })), xxhash64('u1'));
      // XXH64 of the empty input, seed 0 (the xxHash reference value).
      assert.equal(r.hashKey(new Metadata({})), 0xef46db3751d8e999n);
    });

    it('chains several sorted values as Envoy does: each hashed with the previous hash as seed', () => {
      const r = new CompiledRoute(route({ hashPolicy: ['b', 'a'] }));
      assert.equal(r.hashKey(new Metadata({ a: 'y', b: 'x' })), xxhash64('y', xxhash64('x')));
    });

    it('sorts the values of several keys, so the same values give the same key', () => {
      const r = new CompiledRoute(route({ hashPolicy: ['a', 'b', 'c'] }));
      const k1 = r.hashKey(new Metadata({ a: 'x', b: 'y', c: 'z' }));
      const k2 = r.hashKey(new Metadata({ a: 'z', b: 'x', c: 'y' }));
      assert.equal(k1, k2);
      assert.notEqual(k1, r.hashKey(new Metadata({ a: 'x', b: 'y', c: 'w' })));
      const two = new CompiledRoute(route({ hashPolicy: ['a', 'b'] }));
      assert.equal(two.hashKey(new Metadata({ a: '1', b: '2' })), two.hashKey(new Metadata({ a: '2', b: '1' })));
    });

    it('gives each route its own key though routes of one policy length share the sort scratch', () => {
      const ab = new CompiledRoute(route({ hashPolicy: ['a', 'b'] }));
      const cd = new CompiledRoute(route({ hashPolicy: ['c', 'd'] }));
      const call = new Metadata({ a: '1', b: '2', c: '3', d: '4' });
      const first = ab.hashKey(call);
      assert.notEqual(cd.hashKey(call), first);
      assert.equal(ab.hashKey(call), first);
      assert.equal(cd.hashKey(call), new CompiledRoute(route({ hashPolicy: ['d', 'c'] })).hashKey(call));
    });

    it('treats an absent key as "" and never aliases values that contain separators', () => {
      const r = new CompiledRoute(route({ hashPolicy: ['a', 'b'] }));
      const key = (o: Record<string, string>): bigint | undefined => r.hashKey(new Metadata(o));
      assert.equal(key({ a: 'x' }), key({ a: 'x', b: '' }));
      const keys = new Set([key({ a: 'x|', b: 'y' }), key({ a: 'x', b: '|y' }), key({ a: 'x|y', b: '' }), key({ a: '1:x', b: '' }), key({ a: 'x' })]);
      assert.equal(keys.size, 5);
    });
  });

  it('matches when every matcher holds', () => {
    const r = new CompiledRoute(route({ match: [{ name: 'method', kind: 'exact', value: 'a' }, { name: 'v', kind: 'present', present: true }] }));
    assert.equal(r.matches(new Metadata({ method: 'a', v: '' })), true);
    assert.equal(r.matches(new Metadata({ method: 'a' })), false);
  });

  describe('with a matcher its table index proves (indexed)', () => {
    const match = [
      { name: 'method', kind: 'exact', value: 'a' },
      { name: 'v', kind: 'exact', value: 'b' },
    ] as const;

    it('compiles no predicate for it, and matches() still checks it and the others', () => {
      const r = new CompiledRoute(route({ match: [...match] }), undefined, 0);
      assert.equal(r.predicates.length, 1);
      assert.equal(r.matchers.length, 2);
      assert.equal(r.matches(new Metadata({ method: 'a', v: 'b' })), true);
      assert.equal(r.matches(new Metadata({ method: 'x', v: 'b' })), false);
      assert.equal(r.matches(new Metadata({ v: 'b' })), false);
      assert.equal(r.matches(new Metadata({ method: 'a', v: 'c' })), false);
      assert.deepEqual(
        r.matchers.map((p) => p(new Metadata({ method: 'a', v: 'c' }))),
        [true, false],
      );
    });

    it('a route of one such matcher keeps no predicate list of its own', () => {
      const a = new CompiledRoute(route({ match: [match[0]] }), undefined, 0);
      const b = new CompiledRoute(route({ match: [match[1]] }), undefined, 0);
      assert.equal(a.predicates.length, 0);
      assert.equal(a.predicates, b.predicates);
      assert.equal(a.matches(new Metadata({ method: 'a' })), true);
      assert.equal(a.matches(new Metadata({ method: 'b' })), false);
    });

    it('compiles a matcher that is not plain exact all the same, and still rejects a bad one', () => {
      const regex = new CompiledRoute(route({ match: [{ name: 'method', kind: 'regex', value: 'a.' }] }), undefined, 0);
      assert.equal(regex.predicates.length, 1);
      assert.equal(regex.matches(new Metadata({ method: 'ab' })), true);
      const inverted = new CompiledRoute(route({ match: [{ name: 'method', kind: 'exact', value: 'a', invert: true }] }), undefined, 0);
      assert.equal(inverted.matches(new Metadata({ method: 'a' })), false);
      assert.equal(inverted.matches(new Metadata({ method: 'b' })), true);
      assert.throws(
        () => new CompiledRoute(route({ match: [{ name: '', kind: 'exact', value: 'a' }] }), undefined, 0),
        (e: unknown) => e instanceof MeshError && e.code === 'CONFIG' && /no metadata key name/.test(e.message),
      );
    });
  });
});
