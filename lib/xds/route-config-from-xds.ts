// An Envoy RouteConfiguration from MetaRDS → the model RouteConfig, read as
// the MetaProtocol proxy reads it (reference §3.2): the single virtual host's
// routes in order, headers → metadata matchers, headers_to_add → mutations,
// hash_policy.header → hash keys, request_mirror_policies → mirrors. A route
// the proxy could not run is refused with a reason, which becomes the NACK.
import type { MetadataMatcher, MirrorPolicy, RetryPolicy, Route, RouteConfig, WeightedCluster } from '../config/model';
import { regexCheck } from '../config/regex-check';
import { MeshError, MeshErrorCode } from '../protocol';
import type { DurationProto, FractionalPercentProto, HeaderMatcherProto, HeaderValueOptionProto, RouteActionProto, RouteConfigurationProto, RouteProto } from './envoy-types';
import { durationMs, durationProblem } from './duration-ms';

const DENOMINATORS = { HUNDRED: 100, TEN_THOUSAND: 10_000, MILLION: 1_000_000 } as const;
const EMPTY: readonly never[] = Object.freeze([]);

/** Translates `rc`; throws MeshError CONFIG naming the route and field at fault. */
export function routeConfigFromXds(rc: RouteConfigurationProto): RouteConfig {
  const name = rc.name ?? '';
  const host = onlyVirtualHost(name, rc.virtual_hosts ?? []);
  const routes = (host.routes ?? []).map((r, i) => routeFromXdsAt(name, i, r));
  return Object.freeze({ name, routes: Object.freeze(routes) });
}

/** Checks that a route configuration has a name and exactly one virtual host, and returns that host. */
export function onlyVirtualHost<H>(name: string, hosts: readonly H[]): H {
  if (name === '') throw invalid('', 'has no name; a MetaRDS route configuration is named <host>_<port>');
  const [host] = hosts;
  if (hosts.length !== 1 || host === undefined) {
    throw invalid(name, `has ${hosts.length} virtual hosts; MetaRDS carries exactly one (Aeraki names it "dummy") holding the meta routes`);
  }
  return host;
}

/** Translates route `index` of configuration `config`. */
export function routeFromXdsAt(config: string, index: number, r: RouteProto): Route {
  // Spelled out only when a route is refused: building it for every route
  // of a 10,000-route update costs more than the rest of the translation.
  return routeFromXds(r, () => `${config} route[${index}]${r.name ? ` '${r.name}'` : ''}`);
}

/** Where a problem sits: the text, or a function spelling it out when needed. */
type Where = string | (() => string);

function routeFromXds(r: RouteProto, where: Where): Route {
  if (r.route === undefined) {
    const kind = r.action ?? (r.redirect !== undefined ? 'redirect' : r.direct_response !== undefined ? 'direct_response' : 'none');
    throw invalid(where, `has action '${kind}'; a meta route needs a route action with a cluster or weighted_clusters`);
  }
  const action = r.route;
  const route: {
    -readonly [K in keyof Route]: Route[K];
  } = {
    name: r.name ?? '',
    match: matchersFromXds(r.match?.headers, where),
    clusters: clustersFromXds(action, where),
    hashPolicy: hashPolicyFromXds(action),
    mirrors: mirrorsFromXds(action, where),
    requestMutation: mutationsFromXds(r.request_headers_to_add),
    responseMutation: mutationsFromXds(r.response_headers_to_add),
  };
  const timeoutMs = action.timeout === undefined ? 0 : durationMs(checkedDuration(action.timeout, where, 'route.timeout'));
  if (timeoutMs > 0) route.timeoutMs = timeoutMs;
  if (action.retry_policy !== undefined) route.retries = retriesFromXds(action.retry_policy, where);
  return Object.freeze(route);
}

/** Envoy HeaderMatchers → metadata matchers (also read by the LDS MetaProtocolProxy filter config). */
export function matchersFromXds(headers: readonly HeaderMatcherProto[] | undefined, where: Where): readonly MetadataMatcher[] {
  if (headers === undefined || headers.length === 0) return EMPTY;
  return Object.freeze(headers.map((h, i) => matcherAt(h, where, i)));
}

function clustersFromXds(action: RouteActionProto, where: Where): readonly WeightedCluster[] {
  if (action.cluster !== undefined && action.cluster !== '') return Object.freeze([Object.freeze({ cluster: action.cluster, weight: 1 })]);
  const weighted = action.weighted_clusters?.clusters;
  if (weighted === undefined || weighted.length === 0) {
    const why = action.cluster_header !== undefined ? 'uses cluster_header, which has no meaning for meta routes' : 'names no cluster';
    throw invalid(where, `${why}; set route.cluster or route.weighted_clusters`);
  }
  let sum = 0;
  const out = weighted.map((c, i) => {
    if (c.name === undefined || c.name === '') throw invalid(where, `weighted_clusters.clusters[${i}] has no name; name a cluster such as outbound|<port>|<subset>|<host>`);
    // The proxy requires the weight (a missing one is a config error, not 0).
    if (c.weight?.value === undefined) throw invalid(where, `weighted_clusters.clusters[${i}] '${c.name}' has no weight; set weight`);
    sum += c.weight.value;
    return Object.freeze({ cluster: c.name, weight: c.weight.value });
  });
  if (sum === 0) throw invalid(where, 'weighted_clusters weights add up to 0, so no cluster can be picked; give one a weight above 0');
  return Object.freeze(out);
}

function hashPolicyFromXds(action: RouteActionProto): readonly string[] {
  const keys: string[] = [];
  for (const p of action.hash_policy ?? []) {
    // Only the header kind has a meaning for metadata; the proxy ignores the others.
    const key = p.header?.header_name?.toLowerCase();
    if (key !== undefined && key !== '' && !keys.includes(key)) keys.push(key);
  }
  return keys.length === 0 ? EMPTY : Object.freeze(keys);
}

function mirrorsFromXds(action: RouteActionProto, where: Where): readonly MirrorPolicy[] {
  const list = action.request_mirror_policies ?? [];
  if (list.length === 0) return EMPTY;
  return Object.freeze(
    list.map((m, i) => {
      if (m.cluster === undefined || m.cluster === '') throw invalid(where, `request_mirror_policies[${i}] names no cluster; set cluster`);
      return Object.freeze({ cluster: m.cluster, fraction: fractionOf(m.runtime_fraction?.default_value, where, i) });
    }),
  );
}

/** The proxy copies only default_value; an absent fraction mirrors every call. */
function fractionOf(p: FractionalPercentProto | undefined, where: Where, index: number): number {
  if (p === undefined) return 1;
  const denominator = DENOMINATORS[p.denominator ?? 'HUNDRED'];
  if (denominator === undefined) {
    throw invalid(where, `request_mirror_policies[${index}] has denominator ${p.denominator}, which Envoy does not define; use HUNDRED, TEN_THOUSAND or MILLION`);
  }
  return Math.min(1, (p.numerator ?? 0) / denominator);
}

function retriesFromXds(p: NonNullable<RouteActionProto['retry_policy']>, where: Where): RetryPolicy {
  const retryOn = (p.retry_on ?? '').split(',').map((t) => t.trim()).filter((t) => t !== '');
  return Object.freeze({
    // Envoy: num_retries defaults to 1.
    attempts: p.num_retries?.value ?? 1,
    perTryTimeoutMs: p.per_try_timeout === undefined ? 0 : durationMs(checkedDuration(p.per_try_timeout, where, 'retry_policy.per_try_timeout')),
    retryOn: Object.freeze(retryOn),
  });
}

function mutationsFromXds(list: readonly HeaderValueOptionProto[] | undefined): readonly (readonly [string, string])[] {
  if (list === undefined || list.length === 0) return EMPTY;
  const out: (readonly [string, string])[] = [];
  for (const h of list) if (h.header?.key !== undefined && h.header.key !== '') out.push(Object.freeze([h.header.key, h.header.value ?? ''] as const));
  return Object.freeze(out);
}

/** One Envoy HeaderMatcher → a metadata matcher (reference §3.3). */
export function matcherFromXds(h: HeaderMatcherProto, where: string): MetadataMatcher {
  return matcherAt(h, where, -1);
}

/** matcherFromXds for header `index` of the route at `route` (-1: `route` is the matcher's own place). */
function matcherAt(h: HeaderMatcherProto, route: Where, index: number): MetadataMatcher {
  const name = (h.name ?? '').toLowerCase();
  if (name === '') throw invalidAt(route, index, 'has no name; set name to the metadata key to match');
  const invert = h.invert_match === true;
  const treatMissingAsEmpty = h.treat_missing_header_as_empty === true;
  const kind = h.header_match_specifier ?? specifierOf(h);
  switch (kind) {
    case 'exact_match':
      return finish({ name, kind: 'exact', value: h.exact_match ?? '' }, invert, treatMissingAsEmpty, false);
    case 'prefix_match':
      return finish({ name, kind: 'prefix', value: nonEmpty(h.prefix_match, route, index, 'prefix_match') }, invert, treatMissingAsEmpty, false);
    case 'suffix_match':
      return finish({ name, kind: 'suffix', value: nonEmpty(h.suffix_match, route, index, 'suffix_match') }, invert, treatMissingAsEmpty, false);
    case 'contains_match':
      return finish({ name, kind: 'contains', value: nonEmpty(h.contains_match, route, index, 'contains_match') }, invert, treatMissingAsEmpty, false);
    case 'safe_regex_match':
      return finish({ name, kind: 'regex', value: regexOf(h.safe_regex_match?.regex, route, index) }, invert, treatMissingAsEmpty, false);
    case 'present_match':
      return finish({ name, kind: 'present', present: h.present_match === true }, invert, treatMissingAsEmpty, false);
    case 'range_match': {
      const start = Number(h.range_match?.start ?? 0);
      const end = Number(h.range_match?.end ?? 0);
      if (!(start < end)) throw invalidAt(route, index, `range_match [${start}, ${end}) is empty; set start below end`);
      return finish({ name, kind: 'range', rangeStart: start, rangeEnd: end }, invert, treatMissingAsEmpty, false);
    }
    case 'string_match': {
      const s = h.string_match ?? {};
      const ignoreCase = s.ignore_case === true;
      switch (s.match_pattern ?? stringPatternOf(s)) {
        case 'exact':
          return finish({ name, kind: 'exact', value: s.exact ?? '' }, invert, treatMissingAsEmpty, ignoreCase);
        case 'prefix':
          return finish({ name, kind: 'prefix', value: nonEmpty(s.prefix, route, index, 'string_match.prefix') }, invert, treatMissingAsEmpty, ignoreCase);
        case 'suffix':
          return finish({ name, kind: 'suffix', value: nonEmpty(s.suffix, route, index, 'string_match.suffix') }, invert, treatMissingAsEmpty, ignoreCase);
        case 'contains':
          return finish({ name, kind: 'contains', value: nonEmpty(s.contains, route, index, 'string_match.contains') }, invert, treatMissingAsEmpty, ignoreCase);
        case 'safe_regex':
          // Envoy refuses ignore_case with safe_regex; RE2 spells it (?i).
          if (s.ignore_case === true) throw invalidAt(route, index, 'string_match sets ignore_case with safe_regex, which Envoy refuses; write (?i) in the regex instead');
          return finish({ name, kind: 'regex', value: regexOf(s.safe_regex?.regex, route, index) }, invert, treatMissingAsEmpty, false);
        default:
          throw invalidAt(route, index, 'string_match sets no pattern; set exact, prefix, suffix, contains or safe_regex');
      }
    }
    default:
      // Envoy: a matcher with no specifier is a presence check.
      return finish({ name, kind: 'present', present: true }, invert, treatMissingAsEmpty, false);
  }
}

/** Adds the optional flags (only when set, as the model expects) and freezes. */
function finish(m: { -readonly [K in keyof MetadataMatcher]: MetadataMatcher[K] }, invert: boolean, treatMissingAsEmpty: boolean, ignoreCase: boolean): MetadataMatcher {
  if (invert) m.invert = true;
  if (treatMissingAsEmpty) m.treatMissingAsEmpty = true;
  if (ignoreCase) m.ignoreCase = true;
  return Object.freeze(m);
}

function specifierOf(h: HeaderMatcherProto): string | undefined {
  const keys = ['exact_match', 'safe_regex_match', 'range_match', 'present_match', 'prefix_match', 'suffix_match', 'contains_match', 'string_match'] as const;
  return keys.find((k) => h[k] !== undefined);
}

function stringPatternOf(s: NonNullable<HeaderMatcherProto['string_match']>): string | undefined {
  return (['exact', 'prefix', 'suffix', 'safe_regex', 'contains'] as const).find((k) => s[k] !== undefined);
}

function nonEmpty(value: string | undefined, route: Where, index: number, field: string): string {
  if (value === undefined || value === '') throw invalidAt(route, index, `${field} is empty, which Envoy refuses; use present_match to match any value`);
  return value;
}

function regexOf(pattern: string | undefined, route: Where, index: number): string {
  if (pattern === undefined || pattern === '') throw invalidAt(route, index, 'safe_regex has no regex; set regex');
  const problem = regexCheck(pattern);
  if (problem !== undefined) throw invalidAt(route, index, problem);
  return pattern;
}

/** A Duration must be valid and not negative (Envoy refuses both; 0 means no timeout). */
function checkedDuration(d: DurationProto, where: Where, field: string): DurationProto {
  const problem = durationProblem(d, false);
  if (problem !== undefined) throw invalid(where, `${field} ${problem}`);
  return d;
}

function place(where: Where): string {
  return typeof where === 'string' ? where : where();
}

/** invalid() for header `index` of the route at `route`; -1: `route` is the matcher's own place. */
function invalidAt(route: Where, index: number, message: string): MeshError {
  return invalid(index < 0 ? route : `${place(route)} match.headers[${index}]`, message);
}

function invalid(where: Where, message: string): MeshError {
  const at = place(where);
  return new MeshError(MeshErrorCode.CONFIG, at === '' ? `route configuration ${message}` : `${at} ${message}`);
}
