// Reading a RouteConfiguration route by route from its bytes must give what
// decoding it in full and translating gives: the same model, the same refusals.
import assert from 'node:assert/strict';
import { MeshError } from '../../lib/protocol';
import type { RouteConfigurationProto, RouteProto } from '../../lib/xds/envoy-types';
import { routeConfigFromXds } from '../../lib/xds/route-config-from-xds';
import { routeConfigFromBytes, routeConfigNameOf } from '../../lib/xds/route-config-reader';
import { TYPE_RDS } from '../../lib/xds/type-urls';
import { xdsProtos } from '../../lib/xds/xds-protos';
import { mulberry32 } from '../support/mulberry32';
import { HOST, V1, V2, sampleRouteConfiguration } from './sample-resources';
import { realEnvoy } from './real-envoy-protos';

const encode = (rc: RouteConfigurationProto): Buffer => xdsProtos().codecs[TYPE_RDS].encode(rc);
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
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
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
