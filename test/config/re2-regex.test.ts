// Config regexes are RE2 (re2js): Envoy's syntax, refused at config time with
// RE2's reason (YAML problem, xDS NACK), Envoy's program-size limit, and
// matching in time linear in the value, so the issue's `(a+)+$` against a
// header of a's and a '!' (18 s in V8's backtracking RegExp) costs nothing.
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { DEFAULT_REGEX_MAX_PROGRAM_SIZE, setRegexMaxProgramSize } from '../../lib/config';
import { compileRe2, regexCheck } from '../../lib/config/regex-check';
import { MeshError } from '../../lib/protocol';
import { Metadata } from '../../lib/protocol/metadata';
import { LocalRateLimiter } from '../../lib/ratelimit/local-rate-limiter';
import { compileMatcher } from '../../lib/route';
import { routeConfigFromXds } from '../../lib/xds';
import { CALC, parse, problems, router, SERVICE } from './manifests';
import { defined } from '../support/defined';

const EVIL = '(a+)+$';
const withRouter = (routes: string) => `${SERVICE}---\n${router(routes)}`;

/** Time of one call in ms. */
function timed(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

describe('config regexes run in RE2', () => {
  afterEach(() => setRegexMaxProgramSize(DEFAULT_REGEX_MAX_PROGRAM_SIZE));

  it("accepts the issue's (a+)+$ (RE2 accepts it) and matches it in linear time", () => {
    assert.equal(regexCheck(EVIL), undefined, 'RE2 compiles (a+)+$, so validate must accept it');
    const p = compileMatcher({ name: 'x-user', kind: 'regex', value: EVIL });
    // The issue's header: 32 a's and a '!' froze a backtracking engine for 18.5 s.
    const issue = new Metadata({ 'x-user': `${'a'.repeat(32)}!` });
    let result = true;
    const ms = timed(() => (result = p(issue)));
    assert.equal(result, false);
    assert.ok(ms < 1000, `took ${ms.toFixed(1)} ms`);
    // 200,000 a's: backtracking would not finish in any lifetime; RE2 reads each character once.
    const long = new Metadata({ 'x-user': `${'a'.repeat(200_000)}!` });
    const longMs = timed(() => (result = p(long)));
    assert.equal(result, false);
    assert.ok(longMs < 5000, `took ${longMs.toFixed(1)} ms`);
    assert.equal(p(new Metadata({ 'x-user': 'a'.repeat(200_000) })), true);
  });

  it('keeps a local rate limit condition on (a+)+$ cheap for a hostile header', () => {
    const snapshot = parse(`${SERVICE}---
apiVersion: metaprotocol.aeraki.io/v1alpha1
kind: MetaRouter
metadata: {name: calc-route}
spec:
  hosts: [${CALC}]
  routes:
    - route:
        - destination: {host: ${CALC}}
  localRateLimit:
    conditions:
      - match:
          attributes:
            x-user: {regex: "${EVIL}"}
        tokenBucket: {maxTokens: 1, fillInterval: 1h}
`);
    const policy = defined([...snapshot.routeConfigs.values()][0], 'a route config').localRateLimit!;
    const limiter = new LocalRateLimiter(policy);
    const hostile = new Metadata({ 'x-user': `${'a'.repeat(5000)}!` });
    const ms = timed(() => {
      for (let i = 0; i < 100; i++) assert.equal(limiter.check(hostile), true, 'no condition matches, and there is no default bucket');
    });
    assert.ok(ms < 5000, `100 checks took ${ms.toFixed(1)} ms`);
    const user = new Metadata({ 'x-user': 'aaaa' });
    assert.deepEqual([limiter.check(user), limiter.check(user)], [true, false]);
  });

  it('uses RE2 semantics, not JavaScript ones', () => {
    // \w is ASCII in RE2 (Unicode in neither engine here, but \Z is a JS identity escape and an RE2 error).
    assert.equal(compileRe2('\\w+').regex!.fullMatch('héllo'), false);
    assert.match(regexCheck('a\\Z') ?? '', /does not compile in RE2.*invalid escape sequence/);
    assert.match(regexCheck('a++') ?? '', /invalid nested repetition operator/);
    assert.equal(compileRe2('(?i)say.*').regex!.fullMatch('SAYhello'), true);
    assert.equal(compileRe2('(?s)a.b').regex!.fullMatch('a\nb'), true);
    assert.equal(compileRe2('a.b').regex!.fullMatch('a\nb'), false);
  });

  it("refuses a pattern above Envoy's max_program_size (100 by default), and takes a raised limit", () => {
    const big = '[a-z]{1,50}';
    assert.match(regexCheck(big) ?? '', /RE2 program of size \d+, above the limit of 100 \(Envoy's max_program_size\)/);
    assert.throws(() => compileMatcher({ name: 'k', kind: 'regex', value: big }), (e: unknown) => e instanceof MeshError && e.code === 'CONFIG' && /max_program_size/.test(e.message));
    setRegexMaxProgramSize(1000);
    assert.equal(regexCheck(big), undefined);
    assert.throws(() => setRegexMaxProgramSize(0), RangeError);
  });

  it('reports an RE2 refusal as a YAML problem at the regex field', () => {
    const all = problems(
      withRouter(`    - match:
        attributes:
          method: {regex: "a\\\\Z"}
          user: {regex: "[a-z]{1,60}"}
      route:
        - destination: {host: ${CALC}}
`),
    );
    assert.deepEqual(all.map((p) => p.field), ['spec.routes[0].match.attributes.method.regex', 'spec.routes[0].match.attributes.user.regex']);
    assert.match(defined(all[0], 'problem 1').message, /invalid escape sequence/);
    assert.match(defined(all[1], 'problem 2').message, /max_program_size/);
  });

  it('refuses an xDS route whose safe_regex RE2 refuses, naming the route (the NACK reason)', () => {
    const rc = (regex: string) => ({
      name: 'calc_9090',
      virtual_hosts: [{ name: 'dummy', routes: [{ name: 'r', match: { prefix: '/', headers: [{ name: 'method', safe_regex_match: { regex } }] }, route: { cluster: 'c' } }] }],
    });
    assert.throws(() => routeConfigFromXds(rc('a\\Z')), /calc_9090 route\[0\] 'r' match\.headers\[0\].*invalid escape sequence/);
    assert.throws(() => routeConfigFromXds(rc('[a-z]{1,60}')), /max_program_size/);
    assert.equal(routeConfigFromXds(rc(EVIL)).routes.length, 1);
  });
});
