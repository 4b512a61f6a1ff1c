// RateLimitRules: envoyproxy/ratelimit's config format and descriptor lookup.
import assert from 'node:assert/strict';
import { MeshError } from '../../lib/protocol';
import { RateLimitRules } from '../../lib/ratelimit';

const YAML = `
domain: calc
descriptors:
  - key: method
    value: add
    rate_limit: { unit: second, requests_per_unit: 10 }
  - key: method
    rate_limit: { unit: minute, requests_per_unit: 600 }
  - key: user
    descriptors:
      - key: method
        value: div
        rate_limit: { unit: HOUR, requests_per_unit: 5, name: user-div }
  - key: caller
    value: internal
    unlimited: true
---
domain: other
descriptors:
  - key: method
    rate_limit: { unit: day, requests_per_unit: 1 }
`;

describe('RateLimitRules', () => {
  const rules = RateLimitRules.fromYaml(YAML);
  const e = (key: string, value: string) => ({ key, value });

  it('prefers a key+value node over the key-only node', () => {
    assert.deepEqual(rules.find('calc', [e('method', 'add')]), { name: 'calc.method_add', requestsPerUnit: 10, unitMs: 1000, unlimited: false });
    assert.equal(rules.find('calc', [e('method', 'sub')])?.unitMs, 60_000);
  });

  it('walks nested descriptors entry by entry and keeps the rate limit name', () => {
    const rule = rules.find('calc', [e('user', 'u1'), e('method', 'div')]);
    assert.equal(rule?.name, 'user-div');
    assert.equal(rule?.unitMs, 3_600_000);
    assert.equal(rules.find('calc', [e('user', 'u1')]), undefined, 'a node without rate_limit does not limit');
    assert.equal(rules.find('calc', [e('user', 'u1'), e('method', 'add')]), undefined);
  });

  it('finds no limit for unknown domains, keys, unlimited nodes or empty descriptors', () => {
    assert.equal(rules.find('nope', [e('method', 'add')]), undefined);
    assert.equal(rules.find('calc', [e('tenant', 'x')]), undefined);
    assert.equal(rules.find('calc', [e('caller', 'internal')]), undefined);
    assert.equal(rules.find('calc', []), undefined);
    assert.equal(rules.find('other', [e('method', 'x')])?.requestsPerUnit, 1);
  });

  it('rejects an unknown unit with a CONFIG error naming the descriptor', () => {
    assert.throws(
      () => new RateLimitRules({ domain: 'd', descriptors: [{ key: 'k', rate_limit: { unit: 'week' as never, requests_per_unit: 1 } }] }),
      (err: unknown) => err instanceof MeshError && err.code === 'CONFIG' && /d\.k/.test(err.message) && /second, minute, hour or day/.test(err.message),
    );
  });

  it('rejects duplicate descriptors and a missing domain', () => {
    assert.throws(() => new RateLimitRules({ domain: 'd', descriptors: [{ key: 'k' }, { key: 'k' }] }), /configured twice/);
    assert.throws(() => new RateLimitRules({ descriptors: [] } as never), /no `domain`/);
  });
});
