// MurmurHash3 x86 32-bit over the UTF-8 bytes of a string, written without
// allocating: consistent-hash balancers hash one key per pick.
const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

/** murmur3_32 of `key` encoded as UTF-8, with `seed`. */
export function murmur3(key: string, seed = 0): number {
  let h = seed >>> 0;
  let block = 0;
  let filled = 0; // bytes in `block`
  let length = 0;
  const n = key.length;
  let i = 0;
  // ASCII fast path: whole 4-byte blocks straight from char codes.
  for (; i + 4 <= n; i += 4) {
    const c0 = key.charCodeAt(i);
    const c1 = key.charCodeAt(i + 1);
    const c2 = key.charCodeAt(i + 2);
    const c3 = key.charCodeAt(i + 3);
    if ((c0 | c1 | c2 | c3) >= 0x80) break;
    h = mixBlock(h, c0 | (c1 << 8) | (c2 << 16) | (c3 << 24));
  }
  length = i;
  for (; i < n; i++) {
    let c = key.charCodeAt(i);
    if (c < 0x80) {
      block |= c << (filled << 3);
      if (++filled === 4) {
        h = mixBlock(h, block);
        block = 0;
        filled = 0;
      }
      length++;
      continue;
    }
    // Multi-byte: emit the UTF-8 sequence one byte at a time.
    let bytes: number;
    let count: number;
    if (c < 0x800) {
      bytes = (0xc0 | (c >> 6)) | ((0x80 | (c & 0x3f)) << 8);
      count = 2;
    } else if (c >= 0xd800 && c < 0xdc00 && i + 1 < n && (key.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      c = 0x10000 + ((c - 0xd800) << 10) + (key.charCodeAt(++i) - 0xdc00);
      bytes = (0xf0 | (c >> 18)) | ((0x80 | ((c >> 12) & 0x3f)) << 8) | ((0x80 | ((c >> 6) & 0x3f)) << 16) | ((0x80 | (c & 0x3f)) << 24);
      count = 4;
    } else {
      if (c >= 0xd800 && c < 0xe000) c = 0xfffd; // lone surrogate, as TextEncoder writes it
      bytes = (0xe0 | (c >> 12)) | ((0x80 | ((c >> 6) & 0x3f)) << 8) | ((0x80 | (c & 0x3f)) << 16);
      count = 3;
    }
    for (let k = 0; k < count; k++) {
      block |= ((bytes >>> (k << 3)) & 0xff) << (filled << 3);
      if (++filled === 4) {
        h = mixBlock(h, block);
        block = 0;
        filled = 0;
      }
    }
    length += count;
  }
  if (filled > 0) {
    block = Math.imul(block, C1);
    block = (block << 15) | (block >>> 17);
    h ^= Math.imul(block, C2);
  }
  return fmix32(h ^ length);
}

function mixBlock(h: number, k: number): number {
  k = Math.imul(k, C1);
  k = (k << 15) | (k >>> 17);
  h ^= Math.imul(k, C2);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** Murmur3's finalizer: a bijection on 32-bit values that spreads every input bit. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
