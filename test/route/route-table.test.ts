// Route lookup: first match wins, AND semantics, and the exact-value index
// proven equivalent to the reference's linear scan.
import assert from 'node:assert/strict';
import { Metadata, MeshError } from '../../lib/protocol';
import type { MetadataMatcher, Route, RouteConfig } from '../../lib/config';
import { RouteTable, CompiledRoute } from '../../lib/route';
import { mulberry32 } from '../support/mulberry32';
import { defined } from '../support/defined';

function route(name: string, match: MetadataMatcher[], cluster = `outbound|9090|${name}|svc.ns.svc.cluster.local`): Route {
  return { name, match, clusters: [{ cluster, weight: 1 }], hashPolicy: [], mirrors: [], requestMutation: [], responseMutation: [] };
}

const exact = (name: string, value: string): MetadataMatcher => ({ name, kind: 'exact', value });
const table = (...routes: Route[]): RouteTable => RouteTable.compile({ name: 'svc.ns.svc.cluster.local_9090', routes });
const md = (o: Record<string, string>): Metadata => new Metadata(o);

/** Metadata that counts key reads, to observe how many routes a lookup touched. */
class CountingMetadata extends Metadata {
  gets = 0;
  hass = 0;
  override get(key: string): string | undefined {
    this.gets++;
    return super.get(key);
  }
  override has(key: string): boolean {
    this.hass++;
    return super.has(key);
  }
}

describe('RouteTable', () => {
  it('rejects a bad matcher naming the route config, the route and the matcher', () => {
    assert.throws(
      () => table(route('ok', []), route('canary', [{ name: 'version', kind: 'regex', value: '(?=v2)' }])),
      (err: unknown) =>
        err instanceof MeshError &&
        err.code === 'CONFIG' &&
        /route config 'svc\.ns\.svc\.cluster\.local_9090': route 'canary': metadata matcher 'version'.*RE2/.test(err.message) &&
        err.details.route === 'canary',
    );
  });

  it('exposes the route config name and the number of routes', () => {
    const t = table(route('a', []), route('b', []));
    assert.equal(t.name, 'svc.ns.svc.cluster.local_9090');
    assert.equal(t.size, 2);
    assert.deepEqual(t.routes.map((r) => r.name), ['a', 'b']);
  });

  it('routes by method to the v2 subset', () => {
    const t = table(route('v2', [exact('method', 'sayHello')]), route('v1', []));
    assert.equal(t.match(md({ method: 'sayHello' }))?.pickCluster(0), 'outbound|9090|v2|svc.ns.svc.cluster.local');
    assert.equal(t.match(md({ method: 'other' }))?.name, 'v1');
  });

  it('returns the first matching route in config order', () => {
    const t = table(
      route('prefix', [{ name: 'method', kind: 'prefix', value: 'say' }]),
      route('exact', [exact('method', 'sayHello')]),
      route('all', []),
    );
    assert.equal(t.match(md({ method: 'sayHello' }))?.name, 'prefix');
    assert.equal(t.match(md({ method: 'bye' }))?.name, 'all');
  });

  it('prefers an earlier unindexed route over a later indexed one and vice versa', () => {
    const t = table(
      route('idx-early', [exact('method', 'a')]),
      route('scan', [{ name: 'method', kind: 'present', present: true }]),
      route('idx-late', [exact('method', 'b')]),
      route('iface', [exact('interface', 'I')]),
    );
    assert.equal(t.match(md({ method: 'a' }))?.name, 'idx-early');
    assert.equal(t.match(md({ method: 'b' }))?.name, 'scan');
    assert.equal(t.match(md({ interface: 'I' }))?.name, 'iface');
  });

  it('requires every matcher of a route to hold', () => {
    const t = table(
      route('both', [exact('interface', 'org.demo.Greeter'), exact('version', 'v2')]),
      route('iface-only', [exact('interface', 'org.demo.Greeter')]),
    );
    assert.equal(t.match(md({ interface: 'org.demo.Greeter', version: 'v2' }))?.name, 'both');
    assert.equal(t.match(md({ interface: 'org.demo.Greeter', version: 'v1' }))?.name, 'iface-only');
    assert.equal(t.match(md({ interface: 'org.demo.Greeter' }))?.name, 'iface-only');
    assert.equal(t.match(md({ version: 'v2' })), undefined);
  });

  it('an empty matcher list matches every call, even with no metadata', () => {
    const t = table(route('all', []));
    assert.equal(t.match(md({}))?.name, 'all');
  });

  it('returns undefined when nothing matches, and for an empty table', () => {
    assert.equal(table(route('a', [exact('method', 'x')])).match(md({ method: 'y' })), undefined);
    assert.equal(table().match(md({ method: 'y' })), undefined);
  });

  it('checks non-exact matchers that share the indexed key', () => {
    const t = table(
      route('odd', [exact('method', 'get'), { name: 'method', kind: 'regex', value: 'g.t' }, { name: 'tag', kind: 'present', present: false }]),
      route('fallback', [exact('method', 'get')]),
    );
    assert.equal(t.match(md({ method: 'get' }))?.name, 'odd');
    assert.equal(t.match(md({ method: 'get', tag: '1' }))?.name, 'fallback');
  });

  it('never matches a route with two different exact values for one key', () => {
    const t = table(route('impossible', [exact('method', 'a'), exact('method', 'b')]), route('all', []));
    assert.equal(t.match(md({ method: 'a' }))?.name, 'all');
    assert.equal(t.match(md({ method: 'b' }))?.name, 'all');
  });

  it('does not index inverted, case-insensitive or empty exact matchers', () => {
    const t = table(
      route('ci', [{ name: 'method', kind: 'exact', value: 'B', ignoreCase: true }]),
      route('not-a', [{ name: 'method', kind: 'exact', value: 'a', invert: true }]),
      route('any', [{ name: 'method', kind: 'exact', value: '' }]),
    );
    assert.equal(t.match(md({ method: 'z' }))?.name, 'not-a');
    assert.equal(t.match(md({ method: 'b' }))?.name, 'ci');
    assert.equal(t.match(md({ method: 'a' }))?.name, 'any');
    assert.equal(t.match(md({})), undefined);
  });

  it('keeps no predicate for the matcher a route is indexed on (one shared empty list for one-matcher routes)', () => {
    const t = table(
      route('a', [exact('method', 'a')]),
      route('b', [exact('method', 'b')]),
      route('b-v2', [exact('method', 'b'), exact('version', 'v2')]),
      route('rest', [{ name: 'method', kind: 'prefix', value: 'x' }]),
    );
    const [a, b, bv2, rest] = t.routes.map((r) => r.predicates);
    assert.equal(a?.length, 0);
    assert.equal(a, b);
    assert.equal(bv2?.length, 1, 'the exact matcher its bucket does not prove still has one');
    assert.equal(rest?.length, 1);
    assert.equal(t.match(md({ method: 'b', version: 'v2' }))?.name, 'b');
    assert.equal(t.match(md({ method: 'xb', version: 'v2' }))?.name, 'rest');
  });

  it('touches O(1) routes per lookup in a 10,000-route table keyed on method', () => {
    const routes: Route[] = [];
    for (let i = 0; i < 10_000; i++) routes.push(route(`r${i}`, [exact('method', `m${i}`), { name: 'tag', kind: 'present', present: true }]));
    routes.push(route('catch-all', [{ name: 'tag', kind: 'present', present: false }]));
    const t = table(...routes);

    const hit = new CountingMetadata({ method: 'm9999', tag: 'x' });
    assert.equal(t.match(hit)?.name, 'r9999');
    assert.equal(hit.hass, 1, 'one indexed candidate checked');
    assert.ok(hit.gets <= 2, `gets=${hit.gets}`);

    const miss = new CountingMetadata({ method: 'nope' });
    assert.equal(t.match(miss)?.name, 'catch-all');
    assert.equal(miss.hass, 1, 'only the unindexed route checked');

    // Shadowed: r42 fails its residual matcher, so the catch-all after it wins.
    const shadow = new CountingMetadata({ method: 'm42' });
    assert.equal(t.match(shadow)?.name, 'catch-all');
    assert.equal(shadow.hass, 2);
  });

  it('indexes each route on its most selective exact matcher', () => {
    // Every route shares aaa=v1 but has its own method: indexing on method
    // keeps the lookup to one candidate instead of walking all of aaa=v1.
    const routes: Route[] = [];
    for (let i = 0; i < 1000; i++) routes.push(route(`r${i}`, [exact('aaa', 'v1'), exact('method', `m${i}`)]));
    routes.push(route('version-only', [exact('aaa', 'v1')]));
    const t = table(...routes);
    const probe = new CountingMetadata({ aaa: 'v1', method: 'm500' });
    assert.equal(t.match(probe)?.name, 'r500');
    assert.ok(probe.gets <= 3, `gets=${probe.gets}`);
  });

  describe('equals a naive linear scan', () => {
    const KEYS = ['method', 'interface', 'version', 'group'];
    const VALUES = ['a', 'b', 'c', 'A', '', '12', '-3'];

    function randomMatcher(rnd: () => number): MetadataMatcher {
      const pick = <T>(xs: readonly T[]): T => defined(xs[Math.floor(rnd() * xs.length)]);
      const name = pick(KEYS);
      const flags = {
        ...(rnd() < 0.15 ? { invert: true } : {}),
        ...(rnd() < 0.1 ? { treatMissingAsEmpty: true } : {}),
      };
      const r = rnd();
      if (r < 0.55) return { name, kind: 'exact', value: pick(VALUES), ...(rnd() < 0.1 ? { ignoreCase: true } : {}), ...flags };
      if (r < 0.65) return { name, kind: pick(['prefix', 'suffix', 'contains'] as const), value: pick(VALUES), ...(rnd() < 0.3 ? { ignoreCase: true } : {}), ...flags };
      if (r < 0.75) return { name, kind: 'regex', value: pick(['a|b', '[A-Z]', '-?[0-9]+', '.*']), ...flags };
      if (r < 0.88) return { name, kind: 'present', present: rnd() < 0.5, ...flags };
      return { name, kind: 'range', rangeStart: -5, rangeEnd: 13, ...flags };
    }

    function randomConfig(rnd: () => number): RouteConfig {
      const n = 1 + Math.floor(rnd() * 30);
      const routes: Route[] = [];
      for (let i = 0; i < n; i++) {
        const m = rnd() < 0.05 ? 0 : 1 + Math.floor(rnd() * 3);
        const match: MetadataMatcher[] = [];
        for (let j = 0; j < m; j++) match.push(randomMatcher(rnd));
        routes.push(route(`r${i}`, match));
      }
      return { name: 'rand', routes };
    }

    function randomMetadata(rnd: () => number): Metadata {
      const m = new Metadata();
      for (const k of KEYS) if (rnd() < 0.7) m.set(k, defined(VALUES[Math.floor(rnd() * VALUES.length)]));
      return m;
    }

    // The reference: each route compiled on its own, every matcher a predicate (a table leaves out the one its index proves).
    const naive = (t: RouteTable, alone: readonly CompiledRoute[], m: Metadata): CompiledRoute | undefined => {
      const i = alone.findIndex((r) => r.matchers.every((p) => p(m)));
      return t.routes[i];
    };

    it('over 3,000 random route sets and 60 random calls each', () => {
      const rnd = mulberry32(0x5eed);
      let matched = 0;
      let unmatched = 0;
      for (let s = 0; s < 3000; s++) {
        const t = RouteTable.compile(randomConfig(rnd));
        const alone = t.routes.map((r) => new CompiledRoute(r.route));
        for (let c = 0; c < 60; c++) {
          const m = randomMetadata(rnd);
          const want = naive(t, alone, m);
          // matches() of a table's route checks the matcher it has no predicate for as well (on a sixth of the calls: time).
          if (c % 6 === 0) for (const [i, r] of t.routes.entries()) assert.equal(r.matches(m), defined(alone[i]).matches(m), `set ${s}, route ${r.name}`);
          const got = t.match(m);
          if (got !== want) {
            assert.fail(`set ${s}: index picked ${got?.name} but the linear scan picked ${want?.name} for ${JSON.stringify(m)}\n${JSON.stringify(t.routes.map((r) => r.route.match))}`);
          }
          if (want === undefined) unmatched++;
          else matched++;
        }
      }
      // The generator must exercise both outcomes for the comparison to mean anything.
      assert.ok(matched > 30_000 && unmatched > 30_000, `matched=${matched} unmatched=${unmatched}`);
    });
  });
});
