// Reading a RouteConfiguration route by route from its bytes must give what
// decoding it in full and translating gives: the same model, the same refusals.
import assert from 'node:assert/strict';
import { MeshError } from '../../lib/protocol';
import type { RouteConfigurationProto, RouteProto } from '../../lib/xds/envoy-types';
import { routeConfigFromXds } from '../../lib/xds/route-config-from-xds';
import { routeConfigFromBytes, routeConfigNameOf } from '../../lib/xds/route-config-reader';
import { commonRouteFromWire, SharedParts } from '../../lib/xds/route-common-shape';
import { WireReader } from '../../lib/xds/plain-decoder';
import { routeFromXdsAt } from '../../lib/xds/route-config-from-xds';
import { TYPE_RDS } from '../../lib/xds/type-urls';
import { xdsProtos } from '../../lib/xds/xds-protos';
import { mulberry32 } from '../support/mulberry32';
import { HOST, V1, V2, sampleRouteConfiguration } from './sample-resources';
import { realEnvoy } from './real-envoy-protos';
import { defined } from '../support/defined';

const encode = (rc: RouteConfigurationProto): Buffer => xdsProtos().codecs[TYPE_RDS].encode(rc);
/** One Route's bytes: a configuration holding only it, less the framing around it (each prefix below is one tag and one length). */
function routeBytes(route: RouteProto): Buffer {
  const withRoute = encode({ name: 'n', virtual_hosts: [{ routes: [route] }] });
  const r = new WireReader(withRoute);
  r.pos = 3; // name: tag, length 1, 'n'
  r.uint32(); // virtual_hosts tag
  r.uint32(); // its length
  r.uint32(); // routes tag
  const len = r.uint32();
  return withRoute.subarray(r.pos, r.pos + len);
}
const fromBytes = (bytes: Buffer) => routeConfigFromBytes(bytes, xdsProtos().readRoute);
const viaFullDecode = (bytes: Buffer) => routeConfigFromXds(xdsProtos().codecs[TYPE_RDS].decode(bytes));

/** The outcome of `f`: its value, or the error's class and message. */
function outcome(f: () => unknown): unknown {
  try {
    return { value: f() };
  } catch (err) {
    return { error: (err as Error).constructor.name, message: (err as Error).message };
  }
}

function config(routes: RouteProto[], extra: Partial<RouteConfigurationProto> = {}): RouteConfigurationProto {
  return { name: `${HOST}_9090`, virtual_hosts: [{ name: 'dummy', domains: ['*'], routes }], ...extra };
}

/** A random route; about one in ten carries something the proxy refuses. */
function randomRoute(rand: () => number, i: number): RouteProto {
  const pick = <T>(xs: readonly T[]): T => defined(xs[Math.floor(rand() * xs.length)]);
  const headers: RouteProto['match'] = {
    prefix: '/',
    headers: Array.from({ length: Math.floor(rand() * 4) }, () =>
      pick([
        { name: 'method', exact_match: `m${Math.floor(rand() * 5)}` },
        { name: 'Version', prefix_match: 'v', invert_match: rand() < 0.5 },
        { name: 'x', string_match: { exact: 'A', ignore_case: rand() < 0.5 } },
        { name: 'y', present_match: rand() < 0.5, treat_missing_header_as_empty: rand() < 0.5 },
        { name: 'z', range_match: { start: '1', end: String(2 + Math.floor(rand() * 3)) } },
        { name: 'w', safe_regex_match: { google_re2: {}, regex: 'v[0-9]+' } },
        { name: 'v', suffix_match: 'end' },
      ]),
    ),
  };
  const action = pick([
    { cluster: V1 },
    { weighted_clusters: { clusters: [{ name: V1, weight: { value: Math.floor(rand() * 3) } }, { name: V2, weight: { value: 1 } }] } },
  ]);
  const route: RouteProto = {
    name: rand() < 0.9 ? `r${i}` : '',
    match: headers,
    route: { ...action, hash_policy: rand() < 0.3 ? [{ header: { header_name: 'User' } }] : [] },
    request_headers_to_add: [{ header: { key: 'k', value: `v${i}` } }],
  };
  if (rand() < 0.1) {
    // One flaw, of the kinds the translation refuses.
    const flaw = pick<(r: RouteProto) => void>([
      (r) => (r.match?.headers ?? []).push({ name: 'w', safe_regex_match: { google_re2: {}, regex: '(?=x)' } }),
      (r) => (r.match?.headers ?? []).push({ name: 'v', suffix_match: '' }),
      (r) => (r.match?.headers ?? []).push({ name: '' }),
      (r) => (r.match?.headers ?? []).push({ name: 'z', range_match: { start: '3', end: '3' } }),
      (r) => (r.route = { weighted_clusters: { clusters: [{ name: V1 }] } }),
      (r) => (r.route = { cluster_header: 'x-cluster' }),
      (r) => {
        delete r.route;
        r.redirect = {};
      },
    ]);
    flaw(route);
  }
  return route;
}

describe('RouteConfiguration read route by route from its bytes', () => {
  it('gives the model a full decode and translation gives, for a route using every field', () => {
    const bytes = encode(sampleRouteConfiguration());
    assert.deepEqual(fromBytes(bytes), viaFullDecode(bytes));
    assert.equal(fromBytes(bytes).routes.length, 2);
  });

  it('reads bytes the real Envoy protos encoded', () => {
    const bytes = realEnvoy().codecs.RouteConfiguration.encode(sampleRouteConfiguration());
    assert.deepEqual(fromBytes(bytes), viaFullDecode(bytes));
  });

  it('agrees with the full path, value or refusal, over 500 random configurations', () => {
    const rand = mulberry32(7);
    let refused = 0;
    for (let n = 0; n < 500; n++) {
      const routes = Array.from({ length: 1 + Math.floor(rand() * 6) }, (_, i) => randomRoute(rand, i));
      const bytes = encode(config(routes));
      const expected = outcome(() => viaFullDecode(bytes));
      assert.deepEqual(outcome(() => fromBytes(bytes)), expected, `configuration ${n}`);
      if ((expected as { error?: string }).error !== undefined) refused++;
    }
    assert.ok(refused > 50 && refused < 400, `both outcomes exercised (${refused} of 500 refused)`);
  });

  it('refuses a configuration without a name or with two virtual hosts, as the full path does', () => {
    for (const rc of [{ ...config([]), name: '' }, { name: `${HOST}_9090`, virtual_hosts: [{ name: 'a' }, { name: 'b' }] }, { name: `${HOST}_9090` }]) {
      const bytes = encode(rc);
      const got = outcome(() => fromBytes(bytes)) as { error?: string; message?: string };
      assert.equal(got.error, 'MeshError');
      assert.deepEqual(got, outcome(() => viaFullDecode(bytes)));
    }
  });

  it('reads the common route shape directly, sharing parts equal to the previous route, and leaves the rest to the full path', () => {
    const common = (i: number): RouteProto => ({
      name: `r${i}`,
      match: { prefix: '/', headers: [{ name: 'Interface', exact_match: HOST }, { name: 'method', string_match: { prefix: `m${i}`, ignore_case: true } }, { name: 'v', prefix_match: 'x', invert_match: true }] },
      route: { weighted_clusters: { clusters: [{ name: V1, weight: { value: 9 } }, { name: V2, weight: { value: 1 } }], total_weight: { value: 10 } }, hash_policy: [{ header: { header_name: 'User' } }] },
      request_headers_to_add: [{ header: { key: 'k', value: `v${i}` } }],
    });
    const shared = new SharedParts();
    const read = (route: RouteProto) => {
      // The route alone, as the reader meets it inside the virtual host.
      const bytes = routeBytes(route);
      const r = new WireReader(bytes);
      const got = commonRouteFromWire(r, bytes.length, shared);
      return { got, pos: r.pos, bytes };
    };
    const first = read(common(1));
    const second = read(common(2));
    assert.ok(first.got !== undefined && second.got !== undefined, 'the common shape is read directly');
    assert.deepEqual(first.got, routeFromXdsAt('c', 0, common(1)));
    assert.deepEqual(second.got, routeFromXdsAt('c', 1, common(2)));
    assert.equal(second.got.clusters, first.got.clusters, 'equal clusters are one shared object');
    assert.equal(second.got.match[0], first.got.match[0], 'an equal matcher is one shared object');
    assert.notEqual(second.got.match[1], first.got.match[1]);
    assert.equal(first.pos, first.bytes.length);
    // One cluster: the same list for every route to it, whatever routes come between.
    const toV1 = read({ name: 'a', route: { cluster: V1 } });
    const toV2 = read({ name: 'b', route: { cluster: V2 } });
    const toV1Again = read({ name: 'c', route: { cluster: V1 } });
    assert.deepEqual(toV1.got?.clusters, [{ cluster: V1, weight: 1 }]);
    assert.deepEqual(toV2.got?.clusters, [{ cluster: V2, weight: 1 }]);
    assert.equal(toV1Again.got?.clusters, toV1.got?.clusters, 'routes to one cluster share its list');
    assert.ok(Object.isFrozen(toV1.got?.clusters) && Object.isFrozen(toV1.got?.clusters[0]));

    const withTimeout = read({ ...common(3), route: { cluster: V1, timeout: { seconds: '1', nanos: 0 } } });
    assert.equal(withTimeout.got, undefined, 'a timeout is for the full path');
    assert.equal(withTimeout.pos, 0, 'the reader is back at the start of the route');
  });

  it('names the configuration without decoding its routes', () => {
    const bytes = encode(config([{ name: 'r', route: { cluster: V1 } }]));
    assert.equal(routeConfigNameOf(bytes), `${HOST}_9090`);
  });

  it('throws a plain error, not a crash or a half-read config, on truncated or garbage bytes', () => {
    const bytes = encode(sampleRouteConfiguration());
    const rand = mulberry32(11);
    for (let n = 0; n < 200; n++) {
      const cut = bytes.subarray(0, Math.floor(rand() * bytes.length));
      const garbage = Buffer.from(bytes);
      for (let k = 0; k < 4; k++) garbage[Math.floor(rand() * garbage.length)] = Math.floor(rand() * 256);
      for (const b of [cut, garbage]) {
        try {
          const rc = fromBytes(b);
          // Some damage still decodes (a changed string byte); then it must equal the full path's result.
          assert.deepEqual(rc, viaFullDecode(b));
        } catch (err) {
          assert.ok(err instanceof Error, 'an Error');
          if (!(err instanceof MeshError)) assert.throws(() => viaFullDecode(b), 'the full decode fails on the same bytes');
        }
      }
    }
  });
});
