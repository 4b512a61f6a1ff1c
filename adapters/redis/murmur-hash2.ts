// MurmurHash2, 64-bit, as libstdc++'s std::hash<std::string> computes it
// (_Hash_bytes, seed 0xc70f6907) and Envoy's MurmurHash::murmurHash2_64:
// Envoy's redis_proxy hashes a PROXY-mode key (or its {hashtag}) with it
// before the maglev lookup, so meta-mesh must too to send a key to the same
// server as an Envoy sidecar. Words are read little-endian, as on x86-64 and
// arm64.
//
// 64-bit arithmetic on two 32-bit halves (no BigInt on the hot path):
// murmurHash2_64Mod gives the table entry directly; murmurHash2_64 the BigInt.

/** libstdc++'s seed for std::hash<std::string> (Envoy's STD_HASH_SEED). */
export const STD_HASH_SEED = 0xc70f6907n;

const SCRATCH = Buffer.allocUnsafe(768);
const H = new Uint32Array(2);
const D = new Uint32Array(2);

const MUL_HI = 0xc6a4a793;
const MUL_LO = 0x5bd1e995;

/** MurmurHash2-64 of the UTF-8 bytes of `key` (or the bytes given). */
export function murmurHash2_64(key: string | Uint8Array, seed: bigint = STD_HASH_SEED): bigint {
  hashInto(key, Number((seed >> 32n) & 0xffffffffn), Number(seed & 0xffffffffn));
  return (BigInt(H[0]!) << 32n) | BigInt(H[1]!);
}

/** The hash (seed STD_HASH_SEED) modulo `m` (m < 2²⁶), with no BigInt: what a table lookup needs per key. */
export function murmurHash2_64Mod(key: string | Uint8Array, m: number): number {
  hashInto(key, 0, Number(STD_HASH_SEED));
  // (hi·2³² + lo) mod m, every intermediate exact in a double.
  const pow32 = 0x100000000 % m;
  return (((H[0]! % m) * pow32) % m + (H[1]! % m)) % m;
}

/** Leaves the hash in H as [hi, lo]. */
function hashInto(key: string | Uint8Array, seedHi: number, seedLo: number): void {
  let bytes: Uint8Array;
  let len: number;
  if (typeof key !== 'string') {
    bytes = key;
    len = key.length;
  } else if (key.length * 3 <= SCRATCH.length) {
    // Short keys (the usual case) are encoded into one reused buffer: no allocation per key.
    bytes = SCRATCH;
    len = SCRATCH.write(key, 'utf8');
  } else {
    bytes = Buffer.from(key, 'utf8');
    len = bytes.length;
  }
  const aligned = len & ~7;
  // hash = seed ^ (len * mul)
  const h = H;
  mulInto(h, Math.floor(len / 0x100000000) >>> 0, len >>> 0, MUL_HI, MUL_LO);
  h[0] = h[0]! ^ seedHi;
  h[1] = h[1]! ^ seedLo;
  const d = D;
  for (let p = 0; p < aligned; p += 8) {
    const lo = (bytes[p]! | (bytes[p + 1]! << 8) | (bytes[p + 2]! << 16) | (bytes[p + 3]! << 24)) >>> 0;
    const hi = (bytes[p + 4]! | (bytes[p + 5]! << 8) | (bytes[p + 6]! << 16) | (bytes[p + 7]! << 24)) >>> 0;
    // data = shift_mix(word * mul) * mul
    mulInto(d, hi, lo, MUL_HI, MUL_LO);
    shiftMix(d);
    mulInto(d, d[0]!, d[1]!, MUL_HI, MUL_LO);
    h[0] = h[0]! ^ d[0]!;
    h[1] = h[1]! ^ d[1]!;
    mulInto(h, h[0]!, h[1]!, MUL_HI, MUL_LO);
  }
  const rest = len & 7;
  if (rest !== 0) {
    // The tail bytes as a little-endian number.
    let lo = 0;
    let hi = 0;
    for (let i = rest - 1; i >= 0; i--) {
      hi = ((hi << 8) | (lo >>> 24)) >>> 0;
      lo = ((lo << 8) | bytes[aligned + i]!) >>> 0;
    }
    h[0] = h[0]! ^ hi;
    h[1] = h[1]! ^ lo;
    mulInto(h, h[0]!, h[1]!, MUL_HI, MUL_LO);
  }
  shiftMix(h);
  mulInto(h, h[0]!, h[1]!, MUL_HI, MUL_LO);
  shiftMix(h);
}

/** v ^= v >> 47, on [hi, lo]. */
function shiftMix(v: Uint32Array): void {
  v[1] = v[1]! ^ (v[0]! >>> 15);
}

/** out = (aHi:aLo × bHi:bLo) mod 2⁶⁴, as [hi, lo]; 16-bit limbs keep every product exact. */
function mulInto(out: Uint32Array, aHi: number, aLo: number, bHi: number, bLo: number): void {
  const a0 = aLo & 0xffff;
  const a1 = aLo >>> 16;
  const b0 = bLo & 0xffff;
  const b1 = bLo >>> 16;
  // Low 64 bits of aLo × bLo.
  const p00 = a0 * b0;
  const mid = a1 * b0 + a0 * b1 + Math.floor(p00 / 0x10000);
  const lo = ((mid & 0xffff) * 0x10000 + (p00 & 0xffff)) >>> 0;
  const carry = Math.floor(mid / 0x10000) + a1 * b1;
  // High word: carry + aLo × bHi + aHi × bLo (mod 2³²).
  const hi = (carry + Math.imul(aLo, bHi) + Math.imul(aHi, bLo)) >>> 0;
  out[0] = hi;
  out[1] = lo;
}
