// LocalRateLimiter: which bucket decides a call (first matching condition,
// else the default bucket, else no limit).
import assert from 'node:assert/strict';
import { Metadata, MeshError } from '../../lib/protocol';
import { LocalRateLimiter } from '../../lib/ratelimit';

function clock(): { now: () => number; advance: (ms: number) => void } {
  let t = 0;
  return { now: () => t, advance: (ms) => (t += ms) };
}

const md = (o: Record<string, string>): Metadata => new Metadata(o);

function admitted(limiter: LocalRateLimiter, m: Metadata, tries: number): number {
  let n = 0;
  for (let i = 0; i < tries; i++) if (limiter.check(m)) n++;
  return n;
}

describe('LocalRateLimiter', () => {
  it('lets the first matching condition decide, even when a later one also matches', () => {
    const c = clock();
    const limiter = new LocalRateLimiter(
      {
        tokenBucket: { maxTokens: 100, fillIntervalMs: 1000 },
        conditions: [
          { match: [{ name: 'method', kind: 'exact', value: 'add' }], tokenBucket: { maxTokens: 2, fillIntervalMs: 1000 } },
          { match: [{ name: 'method', kind: 'prefix', value: 'a' }], tokenBucket: { maxTokens: 5, fillIntervalMs: 1000 } },
        ],
      },
      c.now,
    );
    assert.equal(admitted(limiter, md({ method: 'add' }), 10), 2);
    assert.equal(admitted(limiter, md({ method: 'avg' }), 10), 5);
  });

  it('sends calls no condition matches to the default bucket', () => {
    const c = clock();
    const limiter = new LocalRateLimiter(
      {
        tokenBucket: { maxTokens: 3, fillIntervalMs: 1000 },
        conditions: [{ match: [{ name: 'method', kind: 'exact', value: 'add' }], tokenBucket: { maxTokens: 1, fillIntervalMs: 1000 } }],
      },
      c.now,
    );
    assert.equal(admitted(limiter, md({ method: 'sub' }), 10), 3);
    assert.equal(admitted(limiter, md({ other: 'x' }), 10), 0, 'the default bucket is shared by every unmatched call');
    assert.equal(admitted(limiter, md({ method: 'add' }), 10), 1);
  });

  it('allows every unmatched call when there is no default bucket', () => {
    const limiter = new LocalRateLimiter({
      conditions: [{ match: [{ name: 'method', kind: 'exact', value: 'add' }], tokenBucket: { maxTokens: 1, fillIntervalMs: 1000 } }],
    });
    assert.equal(admitted(limiter, md({ method: 'sub' }), 1000), 1000);
    assert.equal(admitted(limiter, md({ method: 'add' }), 3), 1);
  });

  it('requires every matcher of a condition to hold', () => {
    const limiter = new LocalRateLimiter({
      conditions: [
        {
          match: [
            { name: 'method', kind: 'exact', value: 'add' },
            { name: 'version', kind: 'present', present: true },
          ],
          tokenBucket: { maxTokens: 1, fillIntervalMs: 1000 },
        },
      ],
    });
    assert.equal(admitted(limiter, md({ method: 'add' }), 5), 5);
    assert.equal(admitted(limiter, md({ method: 'add', version: 'v2' }), 5), 1);
  });

  it('refills each condition bucket on its own interval', () => {
    const c = clock();
    const limiter = new LocalRateLimiter(
      {
        tokenBucket: { maxTokens: 1, fillIntervalMs: 1000 },
        conditions: [{ match: [{ name: 'method', kind: 'exact', value: 'add' }], tokenBucket: { maxTokens: 1, fillIntervalMs: 100 } }],
      },
      c.now,
    );
    assert.equal(admitted(limiter, md({ method: 'add' }), 2), 1);
    assert.equal(admitted(limiter, md({ method: 'sub' }), 2), 1);
    c.advance(100);
    assert.equal(admitted(limiter, md({ method: 'add' }), 2), 1);
    assert.equal(admitted(limiter, md({ method: 'sub' }), 2), 0);
  });

  it('names the refusing limit for the error message', () => {
    const limiter = new LocalRateLimiter({
      conditions: [{ match: [{ name: 'method', kind: 'exact', value: 'add' }], tokenBucket: { maxTokens: 1, fillIntervalMs: 500 } }],
    });
    limiter.check(md({ method: 'add' }));
    assert.equal(limiter.check(md({ method: 'add' })), false);
    assert.match(limiter.lastRefusedBy, /condition 1 \(method exact add\): 1 tokens, 1 added every 500 ms/);
  });

  it('rejects a condition bucket with a fill interval under 50 ms', () => {
    assert.throws(
      () =>
        new LocalRateLimiter({
          conditions: [{ match: [{ name: 'method', kind: 'exact', value: 'add' }], tokenBucket: { maxTokens: 1, fillIntervalMs: 10 } }],
        }),
      (e: unknown) => e instanceof MeshError && e.code === 'CONFIG',
    );
  });

  it('rejects a condition with a bad matcher', () => {
    assert.throws(
      () => new LocalRateLimiter({ conditions: [{ match: [{ name: 'method', kind: 'regex', value: '(?=x)' }], tokenBucket: { maxTokens: 1, fillIntervalMs: 100 } }] }),
      (e: unknown) => e instanceof MeshError && e.code === 'CONFIG',
    );
  });
});
