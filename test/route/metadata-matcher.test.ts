// Envoy HeaderMatcher semantics, kind by kind, including the absent-key rules.
import assert from 'node:assert/strict';
import { Metadata, MeshError } from '../../lib/protocol';
import type { MetadataMatcher } from '../../lib/config';
import { compileMatcher } from '../../lib/route';

const md = (o: Record<string, string> = {}): Metadata => new Metadata(o);
const matches = (m: MetadataMatcher, o: Record<string, string> = {}): boolean => compileMatcher(m)(md(o));

function assertConfigError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof MeshError);
    assert.equal(err.code, 'CONFIG');
    assert.match(err.message, pattern);
    return true;
  });
}

describe('compileMatcher', () => {
  describe('exact', () => {
    const m: MetadataMatcher = { name: 'method', kind: 'exact', value: 'sayHello' };

    it('matches the same value and nothing else', () => {
      assert.equal(matches(m, { method: 'sayHello' }), true);
      assert.equal(matches(m, { method: 'sayhello' }), false);
      assert.equal(matches(m, { method: 'sayHello2' }), false);
      assert.equal(matches(m, { method: '' }), false);
    });

    it('fails on an absent key', () => {
      assert.equal(matches(m, { other: 'sayHello' }), false);
    });

    it('with an empty value matches any present key, even an empty value', () => {
      const any: MetadataMatcher = { name: 'version', kind: 'exact', value: '' };
      assert.equal(matches(any, { version: 'v1' }), true);
      assert.equal(matches(any, { version: '' }), true);
      assert.equal(matches(any, {}), false);
    });

    it('with ignoreCase folds ASCII case only', () => {
      const ci: MetadataMatcher = { ...m, ignoreCase: true };
      assert.equal(matches(ci, { method: 'SAYHELLO' }), true);
      assert.equal(matches(ci, { method: 'sayhello' }), true);
      assert.equal(matches(ci, { method: 'sayhell' }), false);
      const uni: MetadataMatcher = { name: 'k', kind: 'exact', value: 'é', ignoreCase: true };
      assert.equal(matches(uni, { k: 'É' }), false);
    });

    it('keys are matched lower-cased, as the codec stores them', () => {
      assert.equal(compileMatcher(m)(new Metadata({ METHOD: 'sayHello' })), true);
    });
  });

  describe('prefix, suffix, contains', () => {
    it('prefix matches the start of the value', () => {
      const m: MetadataMatcher = { name: 'method', kind: 'prefix', value: 'get' };
      assert.equal(matches(m, { method: 'getUser' }), true);
      assert.equal(matches(m, { method: 'get' }), true);
      assert.equal(matches(m, { method: 'ge' }), false);
      assert.equal(matches(m, { method: 'forget' }), false);
      assert.equal(matches(m, { method: 'GetUser' }), false);
      assert.equal(matches({ ...m, ignoreCase: true }, { method: 'GETUser' }), true);
    });

    it('suffix matches the end of the value', () => {
      const m: MetadataMatcher = { name: 'interface', kind: 'suffix', value: 'Service' };
      assert.equal(matches(m, { interface: 'org.demo.UserService' }), true);
      assert.equal(matches(m, { interface: 'Service' }), true);
      assert.equal(matches(m, { interface: 'ervice' }), false);
      assert.equal(matches(m, { interface: 'org.demo.Userservice' }), false);
      assert.equal(matches({ ...m, ignoreCase: true }, { interface: 'org.demo.USERSERVICE' }), true);
      assert.equal(matches({ ...m, ignoreCase: true }, { interface: 'SERVIC' }), false);
    });

    it('contains matches anywhere in the value', () => {
      const m: MetadataMatcher = { name: 'group', kind: 'contains', value: 'blue' };
      assert.equal(matches(m, { group: 'dark-blue-1' }), true);
      assert.equal(matches(m, { group: 'blue' }), true);
      assert.equal(matches(m, { group: 'dark-BLUE-1' }), false);
      assert.equal(matches({ ...m, ignoreCase: true }, { group: 'dark-BLUE-1' }), true);
      assert.equal(matches({ ...m, ignoreCase: true }, { group: 'dark-BLU' }), false);
    });

    it('an empty prefix, suffix or contains value matches any present key but not an absent one', () => {
      for (const kind of ['prefix', 'suffix', 'contains'] as const) {
        const m: MetadataMatcher = { name: 'k', kind, value: '' };
        assert.equal(matches(m, { k: '' }), true, kind);
        assert.equal(matches(m, { k: 'x' }), true, kind);
        assert.equal(matches(m, {}), false, kind);
      }
    });
  });

  describe('regex', () => {
    it('requires a full match, not a partial one', () => {
      const m: MetadataMatcher = { name: 'version', kind: 'regex', value: 'v[0-9]+' };
      assert.equal(matches(m, { version: 'v12' }), true);
      assert.equal(matches(m, { version: 'v12-beta' }), false);
      assert.equal(matches(m, { version: 'xv12' }), false);
    });

    it('anchors an alternation as a whole', () => {
      const m: MetadataMatcher = { name: 'method', kind: 'regex', value: 'get|put' };
      assert.equal(matches(m, { method: 'get' }), true);
      assert.equal(matches(m, { method: 'put' }), true);
      assert.equal(matches(m, { method: 'getx' }), false);
      assert.equal(matches(m, { method: 'xput' }), false);
    });

    it('accepts a leading RE2 inline case-insensitive flag', () => {
      const m: MetadataMatcher = { name: 'method', kind: 'regex', value: '(?i)say.*' };
      assert.equal(matches(m, { method: 'SayHello' }), true);
      assert.equal(matches(m, { method: 'xSayHello' }), false);
    });

    it('is stateless across calls', () => {
      const p = compileMatcher({ name: 'k', kind: 'regex', value: 'a+' });
      for (let i = 0; i < 3; i++) assert.equal(p(md({ k: 'aaa' })), true);
    });

    it('rejects lookahead, lookbehind and backreferences as RE2 does not support them', () => {
      for (const value of ['foo(?=bar)', 'foo(?!bar)', '(?<=a)b', '(?<!a)b', '(a)\\1', '(?<x>a)\\k<x>']) {
        assertConfigError(() => compileMatcher({ name: 'k', kind: 'regex', value }), /RE2/);
      }
    });

    it('does not mistake escaped or bracketed look-alikes for lookaround or backreferences', () => {
      const escaped = compileMatcher({ name: 'k', kind: 'regex', value: '\\(\\?=x\\)' });
      assert.equal(escaped(md({ k: '(?=x)' })), true);
      const backslash = compileMatcher({ name: 'k', kind: 'regex', value: '\\\\1' });
      assert.equal(backslash(md({ k: '\\1' })), true);
      const cls = compileMatcher({ name: 'k', kind: 'regex', value: '[(?=]+' });
      assert.equal(cls(md({ k: '?=(' })), true);
      compileMatcher({ name: 'k', kind: 'regex', value: '(?:a)(?<name>b)' });
    });

    it('rejects an invalid pattern with a CONFIG error', () => {
      assertConfigError(() => compileMatcher({ name: 'k', kind: 'regex', value: '(unclosed' }), /invalid regex/);
    });
  });

  describe('present', () => {
    it('present:true matches a present key, even with an empty value', () => {
      const m: MetadataMatcher = { name: 'k', kind: 'present', present: true };
      assert.equal(matches(m, { k: 'x' }), true);
      assert.equal(matches(m, { k: '' }), true);
      assert.equal(matches(m, {}), false);
    });

    it('present:false matches only an absent key', () => {
      const m: MetadataMatcher = { name: 'k', kind: 'present', present: false };
      assert.equal(matches(m, {}), true);
      assert.equal(matches(m, { k: '' }), false);
    });

    it('inverted, present:true matches an absent key and present:false a present one', () => {
      assert.equal(matches({ name: 'k', kind: 'present', present: true, invert: true }, {}), true);
      assert.equal(matches({ name: 'k', kind: 'present', present: true, invert: true }, { k: 'x' }), false);
      assert.equal(matches({ name: 'k', kind: 'present', present: false, invert: true }, {}), false);
      assert.equal(matches({ name: 'k', kind: 'present', present: false, invert: true }, { k: 'x' }), true);
    });

    it('with treatMissingAsEmpty treats an absent key as present', () => {
      assert.equal(matches({ name: 'k', kind: 'present', present: true, treatMissingAsEmpty: true }, {}), true);
      assert.equal(matches({ name: 'k', kind: 'present', present: false, treatMissingAsEmpty: true }, {}), false);
    });
  });

  describe('range', () => {
    const m: MetadataMatcher = { name: 'shard', kind: 'range', rangeStart: 10, rangeEnd: 20 };

    it('includes the start and excludes the end', () => {
      assert.equal(matches(m, { shard: '9' }), false);
      assert.equal(matches(m, { shard: '10' }), true);
      assert.equal(matches(m, { shard: '19' }), true);
      assert.equal(matches(m, { shard: '20' }), false);
    });

    it('does not match values that are not integer strings', () => {
      for (const v of ['', '15.0', '15.5', '1e1', '0x0f', ' 15', '15 ', 'fifteen', '+', '-']) {
        assert.equal(matches(m, { shard: v }), false, JSON.stringify(v));
      }
    });

    it('accepts signed integers and negative ranges', () => {
      const neg: MetadataMatcher = { name: 'k', kind: 'range', rangeStart: -5, rangeEnd: 0 };
      assert.equal(matches(neg, { k: '-5' }), true);
      assert.equal(matches(neg, { k: '-1' }), true);
      assert.equal(matches(neg, { k: '0' }), false);
      assert.equal(matches(m, { shard: '+12' }), true);
      assert.equal(matches(m, { shard: '0012' }), true);
    });

    it('compares integers beyond double precision exactly and rejects int64 overflow', () => {
      const big: MetadataMatcher = { name: 'k', kind: 'range', rangeStart: 0, rangeEnd: Number.MAX_SAFE_INTEGER };
      assert.equal(matches(big, { k: '9007199254740990' }), true);
      assert.equal(matches(big, { k: '9007199254740991' }), false);
      assert.equal(matches(big, { k: '99999999999999999999' }), false);
      const all: MetadataMatcher = { name: 'k', kind: 'range', rangeStart: Number.MIN_SAFE_INTEGER, rangeEnd: Number.MAX_SAFE_INTEGER };
      assert.equal(matches({ ...all, invert: true }, { k: '99999999999999999999' }), true);
    });

    it('rejects a range without integer bounds', () => {
      assertConfigError(() => compileMatcher({ name: 'k', kind: 'range', rangeStart: 1.5, rangeEnd: 3 }), /rangeStart/);
      assertConfigError(() => compileMatcher({ name: 'k', kind: 'range', rangeStart: 1 }), /rangeEnd/);
    });
  });

  describe('invert and absent keys', () => {
    it('inverts the result for a present key', () => {
      const m: MetadataMatcher = { name: 'version', kind: 'exact', value: 'v1', invert: true };
      assert.equal(matches(m, { version: 'v2' }), true);
      assert.equal(matches(m, { version: 'v1' }), false);
    });

    it('does not turn an absent key into a match for any non-present kind', () => {
      const kinds: MetadataMatcher[] = [
        { name: 'k', kind: 'exact', value: 'v1', invert: true },
        { name: 'k', kind: 'exact', value: '', invert: true },
        { name: 'k', kind: 'prefix', value: 'a', invert: true },
        { name: 'k', kind: 'suffix', value: 'a', invert: true },
        { name: 'k', kind: 'contains', value: 'a', invert: true },
        { name: 'k', kind: 'regex', value: 'a', invert: true },
        { name: 'k', kind: 'range', rangeStart: 0, rangeEnd: 1, invert: true },
      ];
      for (const m of kinds) {
        assert.equal(matches(m, {}), false, m.kind);
        assert.equal(matches({ ...m, invert: false }, {}), false, m.kind);
      }
    });

    it('with treatMissingAsEmpty evaluates an absent key as "" and then inverts', () => {
      assert.equal(matches({ name: 'k', kind: 'exact', value: 'v1', treatMissingAsEmpty: true }, {}), false);
      assert.equal(matches({ name: 'k', kind: 'exact', value: 'v1', treatMissingAsEmpty: true, invert: true }, {}), true);
      assert.equal(matches({ name: 'k', kind: 'exact', value: '', treatMissingAsEmpty: true }, {}), true);
      assert.equal(matches({ name: 'k', kind: 'regex', value: 'a*', treatMissingAsEmpty: true }, {}), true);
      assert.equal(matches({ name: 'k', kind: 'range', rangeStart: 0, rangeEnd: 1, treatMissingAsEmpty: true }, {}), false);
      assert.equal(matches({ name: 'k', kind: 'range', rangeStart: 0, rangeEnd: 1, treatMissingAsEmpty: true, invert: true }, {}), true);
    });

    it('treatMissingAsEmpty changes nothing for a present key', () => {
      const m: MetadataMatcher = { name: 'k', kind: 'prefix', value: 'a', treatMissingAsEmpty: true };
      assert.equal(matches(m, { k: 'abc' }), true);
      assert.equal(matches(m, { k: 'bc' }), false);
    });
  });

  describe('invalid config', () => {
    it('rejects a matcher without a name or a string value, or with an unknown kind', () => {
      assertConfigError(() => compileMatcher({ name: '', kind: 'exact', value: 'x' }), /name/);
      assertConfigError(() => compileMatcher({ name: 'k', kind: 'prefix' }), /value/);
      assertConfigError(() => compileMatcher({ name: 'k', kind: 'glob' } as unknown as MetadataMatcher), /unknown kind/);
    });
  });
});
