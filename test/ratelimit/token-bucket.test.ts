// TokenBucket timelines on a clock the test moves by hand.
import assert from 'node:assert/strict';
import { MeshError } from '../../lib/protocol';
import { TokenBucket } from '../../lib/ratelimit';

function manualClock(start = 1_000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

function takeAll(bucket: TokenBucket, tries: number): number {
  let taken = 0;
  for (let i = 0; i < tries; i++) if (bucket.take()) taken++;
  return taken;
}

describe('TokenBucket', () => {
  it('starts full and refuses once its tokens are spent', () => {
    const clock = manualClock();
    const bucket = new TokenBucket({ maxTokens: 5, fillIntervalMs: 1000 }, clock.now);
    assert.equal(takeAll(bucket, 8), 5);
  });

  it('adds tokensPerFill per whole fill interval and nothing for a partial one', () => {
    const clock = manualClock();
    const bucket = new TokenBucket({ maxTokens: 10, tokensPerFill: 3, fillIntervalMs: 100 }, clock.now);
    assert.equal(takeAll(bucket, 10), 10);
    clock.advance(99);
    assert.equal(bucket.take(), false);
    clock.advance(1);
    assert.equal(takeAll(bucket, 5), 3);
    clock.advance(250);
    // Two whole intervals (6 tokens); the 50 ms left over counts towards the next fill.
    assert.equal(takeAll(bucket, 10), 6);
    clock.advance(50);
    assert.equal(takeAll(bucket, 10), 3);
  });

  it('never holds more than maxTokens after a long idle time', () => {
    const clock = manualClock();
    const bucket = new TokenBucket({ maxTokens: 4, tokensPerFill: 2, fillIntervalMs: 50 }, clock.now);
    takeAll(bucket, 4);
    clock.advance(3_600_000);
    assert.equal(bucket.available(), 4);
    assert.equal(takeAll(bucket, 10), 4);
  });

  it('defaults tokensPerFill to 1, as Envoy does', () => {
    const clock = manualClock();
    const bucket = new TokenBucket({ maxTokens: 3, fillIntervalMs: 60 }, clock.now);
    takeAll(bucket, 3);
    clock.advance(180);
    assert.equal(takeAll(bucket, 10), 3);
  });

  it('admits maxTokens plus one fill per interval over a long steady timeline', () => {
    const clock = manualClock();
    const bucket = new TokenBucket({ maxTokens: 20, tokensPerFill: 2, fillIntervalMs: 100 }, clock.now);
    let admitted = 0;
    // 10 s of calls every 7 ms: the rate offered (~143/s) is above the fill rate (20/s).
    let last = 0;
    for (let t = 0; t < 10_000; t += 7) {
      if (bucket.take()) admitted++;
      last = t;
      clock.advance(7);
    }
    // Every fill that fell due up to the last call was spent: nothing lost, nothing extra.
    assert.equal(admitted, 20 + Math.floor(last / 100) * 2);
  });

  it('rejects a fill interval under 50 ms with a CONFIG error saying what to change', () => {
    assert.throws(
      () => new TokenBucket({ maxTokens: 1, fillIntervalMs: 49 }),
      (e: unknown) => e instanceof MeshError && e.code === 'CONFIG' && /at least 50 ms/.test(e.message),
    );
  });

  it('rejects zero, fractional or missing token counts', () => {
    for (const bad of [{ maxTokens: 0 }, { maxTokens: 1.5 }, { maxTokens: 2, tokensPerFill: 0 }, {}]) {
      assert.throws(
        () => new TokenBucket({ fillIntervalMs: 100, ...bad } as never),
        (e: unknown) => e instanceof MeshError && e.code === 'CONFIG',
      );
    }
  });
});
