// murmur3_32 must be the standard algorithm over UTF-8, so hash keys written by
// other meshes' tools land the same way and the ring stays stable across releases.
import * as assert from 'node:assert/strict';
import { murmur3 } from '../../../lib/cluster/lb';

describe('murmur3', () => {
  it('matches the published murmur3_x86_32 test vectors', () => {
    assert.equal(murmur3(''), 0);
    assert.equal(murmur3('', 1), 0x514e28b7);
    assert.equal(murmur3('hello'), 0x248bfa47);
    assert.equal(murmur3('The quick brown fox jumps over the lazy dog'), 0x2e4ff723);
  });

  it('hashes non-ASCII keys as their UTF-8 bytes', () => {
    for (const key of ['héllo wörld', '漢字キー', 'emoji 😀 key', 'lone \ud800 surrogate']) {
      assert.equal(murmur3(key, 7), reference(Buffer.from(key, 'utf8'), 7), key);
    }
  });
});

/** The algorithm straight over bytes, to check the allocation-free string version. */
function reference(bytes: Buffer, seed: number): number {
  let h = seed >>> 0;
  const n = bytes.length;
  let i = 0;
  const mix = (k: number): number => {
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    return Math.imul(k, 0x1b873593);
  };
  for (; i + 4 <= n; i += 4) {
    h ^= mix(bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24));
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  let k = 0;
  for (let t = n - 1; t >= i; t--) k = (k << 8) | bytes[t]!;
  if (n > i) h ^= mix(k);
  h ^= n;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
