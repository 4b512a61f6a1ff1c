// xxHash64 (Yann Collet's XXH64), the hash Envoy's ring hash and maglev
// balancers use (HashUtil::xxHash64) and MetaProtocol Proxy's hash policy
// feeds them. It lives beside the codec contract because both the route
// (hash of a call's hash-policy values) and the balancers (ring points) use it.
// Written here from the published algorithm rather than taken from npm: the
// maintained packages are WebAssembly (async start-up, awkward for balancers
// built synchronously) or native add-ons. The 64-bit arithmetic runs on pairs
// of 32-bit halves (BigInt arithmetic was about ten times slower); only the
// result is a bigint.

const encoder = new TextEncoder();
/** Reused for the UTF-8 bytes of string keys (up to 256 bytes), so hashing a key allocates only its result. */
const scratch = new Uint8Array(768);

function utf8(text: string): Uint8Array {
  if (text.length * 3 > scratch.length) return encoder.encode(text);
  const { written } = encoder.encodeInto(text, scratch);
  return scratch.subarray(0, written);
}

// Primes as [high, low] 32-bit halves.
const P1H = 0x9e3779b1, P1L = 0x85ebca87;
const P2H = 0xc2b2ae3d, P2L = 0x27d4eb4f;
const P3H = 0x165667b1, P3L = 0x9e3779f9;
const P4H = 0x85ebca77, P4L = 0xc2b2ae63;
const P5H = 0x27d4eb2f, P5L = 0x165667c5;

/** The working value: h = hi·2³² + lo, both unsigned 32-bit. Module state keeps the hot path allocation-free. */
let hi = 0;
let lo = 0;

/** (hi, lo) = (ah, al) × (bh, bl) mod 2⁶⁴. */
function mul(ah: number, al: number, bh: number, bl: number): void {
  // al × bl in full: 16-bit pieces so every partial product stays exact in a double.
  const a0 = al & 0xffff, a1 = al >>> 16;
  const b0 = bl & 0xffff, b1 = bl >>> 16;
  const p00 = a0 * b0;
  const mid = a1 * b0 + a0 * b1 + (p00 >>> 16); // < 2^34
  const low = ((mid & 0xffff) << 16) | (p00 & 0xffff);
  const carry = a1 * b1 + Math.floor(mid / 65536);
  hi = (carry + Math.imul(ah, bl) + Math.imul(al, bh)) >>> 0;
  lo = low >>> 0;
}

/** (hi, lo) = (ah, al) + (bh, bl) mod 2⁶⁴. */
function add(ah: number, al: number, bh: number, bl: number): void {
  const l = al + bl;
  lo = l >>> 0;
  hi = (ah + bh + (l > 0xffffffff ? 1 : 0)) >>> 0;
}

/** (hi, lo) = rotl64((ah, al), r) for 0 < r < 64. */
function rotl(ah: number, al: number, r: number): void {
  if (r === 32) {
    hi = al;
    lo = ah;
  } else if (r < 32) {
    hi = ((ah << r) | (al >>> (32 - r))) >>> 0;
    lo = ((al << r) | (ah >>> (32 - r))) >>> 0;
  } else {
    const s = r - 32;
    hi = ((al << s) | (ah >>> (32 - s))) >>> 0;
    lo = ((ah << s) | (al >>> (32 - s))) >>> 0;
  }
}

/** round(acc, lane) = rotl(acc + lane × P2, 31) × P1, result in (hi, lo). */
function round(ah: number, al: number, laneH: number, laneL: number): void {
  mul(laneH, laneL, P2H, P2L);
  add(ah, al, hi, lo);
  rotl(hi, lo, 31);
  mul(hi, lo, P1H, P1L);
}

function u32(b: Uint8Array, i: number): number {
  return (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;
}

/** XXH64 of `input` (a string is hashed as its UTF-8 bytes) with a 64-bit seed. */
export function xxhash64(input: string | Uint8Array, seed: bigint = 0n): bigint {
  const b = typeof input === 'string' ? utf8(input) : input;
  const len = b.length;
  const sH = Number((seed >> 32n) & 0xffffffffn);
  const sL = Number(seed & 0xffffffffn);
  let i = 0;
  let hH: number;
  let hL: number;
  if (len >= 32) {
    add(sH, sL, P1H, P1L);
    add(hi, lo, P2H, P2L);
    let v1h = hi, v1l = lo;
    add(sH, sL, P2H, P2L);
    let v2h = hi, v2l = lo;
    let v3h = sH, v3l = sL;
    // seed − P1 = seed + (2⁶⁴ − P1)
    add(sH, sL, ~P1H >>> 0, -P1L >>> 0); // P1's low half is not 0, so no carry into the high half
    let v4h = hi, v4l = lo;
    for (; i + 32 <= len; i += 32) {
      round(v1h, v1l, u32(b, i + 4), u32(b, i));
      v1h = hi; v1l = lo;
      round(v2h, v2l, u32(b, i + 12), u32(b, i + 8));
      v2h = hi; v2l = lo;
      round(v3h, v3l, u32(b, i + 20), u32(b, i + 16));
      v3h = hi; v3l = lo;
      round(v4h, v4l, u32(b, i + 28), u32(b, i + 24));
      v4h = hi; v4l = lo;
    }
    rotl(v1h, v1l, 1);
    let th = hi, tl = lo;
    rotl(v2h, v2l, 7);
    add(th, tl, hi, lo);
    th = hi; tl = lo;
    rotl(v3h, v3l, 12);
    add(th, tl, hi, lo);
    th = hi; tl = lo;
    rotl(v4h, v4l, 18);
    add(th, tl, hi, lo);
    hH = hi; hL = lo;
    for (const [vh, vl] of [[v1h, v1l], [v2h, v2l], [v3h, v3l], [v4h, v4l]] as const) {
      round(0, 0, vh, vl);
      hH = (hH ^ hi) >>> 0;
      hL = (hL ^ lo) >>> 0;
      mul(hH, hL, P1H, P1L);
      add(hi, lo, P4H, P4L);
      hH = hi; hL = lo;
    }
  } else {
    add(sH, sL, P5H, P5L);
    hH = hi; hL = lo;
  }
  add(hH, hL, 0, len);
  hH = hi; hL = lo;
  for (; i + 8 <= len; i += 8) {
    round(0, 0, u32(b, i + 4), u32(b, i));
    hH = (hH ^ hi) >>> 0;
    hL = (hL ^ lo) >>> 0;
    rotl(hH, hL, 27);
    mul(hi, lo, P1H, P1L);
    add(hi, lo, P4H, P4L);
    hH = hi; hL = lo;
  }
  if (i + 4 <= len) {
    mul(0, u32(b, i), P1H, P1L);
    hH = (hH ^ hi) >>> 0;
    hL = (hL ^ lo) >>> 0;
    rotl(hH, hL, 23);
    mul(hi, lo, P2H, P2L);
    add(hi, lo, P3H, P3L);
    hH = hi; hL = lo;
    i += 4;
  }
  for (; i < len; i++) {
    mul(0, b[i]!, P5H, P5L);
    hH = (hH ^ hi) >>> 0;
    hL = (hL ^ lo) >>> 0;
    rotl(hH, hL, 11);
    mul(hi, lo, P1H, P1L);
    hH = hi; hL = lo;
  }
  // Avalanche: h ^= h >> 33; h *= P2; h ^= h >> 29; h *= P3; h ^= h >> 32.
  hL = (hL ^ (hH >>> 1)) >>> 0;
  mul(hH, hL, P2H, P2L);
  hH = hi;
  hL = lo;
  const lowShift = ((hH << 3) | (hL >>> 29)) >>> 0;
  hH = (hH ^ (hH >>> 29)) >>> 0;
  hL = (hL ^ lowShift) >>> 0;
  mul(hH, hL, P3H, P3L);
  hH = hi;
  hL = (lo ^ hi) >>> 0;
  return finish(hH, hL);
}

function finish(hH: number, hL: number): bigint {
  return (BigInt(hH) << 32n) | BigInt(hL);
}

/**
 * Envoy's HashUtil::xxHash64 over a list of strings: each value hashed with the
 * previous result as its seed, starting from 0 (an empty list hashes to 0).
 * MetaProtocol Proxy hashes its sorted hash-policy values this way.
 */
export function xxhash64Chain(values: readonly string[]): bigint {
  let seed = 0n;
  for (const v of values) seed = xxhash64(v, seed);
  return seed;
}
