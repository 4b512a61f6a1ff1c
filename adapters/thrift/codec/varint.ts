// Unsigned LEB128 varints as the compact protocol and THeader use them.
import { codecError, MORE, type Scan } from './scan';

/** Reads a varint of at most 5 bytes as an unsigned 32-bit number into scan.value. */
export function readVarint32(buf: Buffer, pos: number, end: number, scan: Scan): number {
  let result = 0;
  let shift = 0;
  for (let i = 0; i < 5; i++) {
    if (pos >= end) return scan.more(pos + 1);
    const b = buf[pos++]!;
    result += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) {
      scan.value = result >>> 0;
      return pos;
    }
    shift += 7;
  }
  throw codecError(`a varint at offset ${pos - 5} is longer than 5 bytes; the bytes are not a valid compact/THeader value`);
}

/** Skips a varint of at most `maxBytes` bytes (3 for i16, 5 for i32, 10 for i64). */
export function skipVarint(buf: Buffer, pos: number, end: number, maxBytes: number, scan: Scan): number {
  for (let i = 0; i < maxBytes; i++) {
    if (pos >= end) return scan.more(pos + 1);
    if ((buf[pos++]! & 0x80) === 0) return pos;
  }
  throw codecError(`a varint at offset ${pos - maxBytes} is longer than ${maxBytes} bytes; the bytes are not valid compact protocol`);
}

export function varintSize(value: number): number {
  let v = value >>> 0;
  let n = 1;
  while (v >= 0x80) {
    v >>>= 7;
    n++;
  }
  return n;
}

/** Writes `value` as an unsigned 32-bit varint; returns the position after it. */
export function writeVarint32(out: Buffer, pos: number, value: number): number {
  let v = value >>> 0;
  while (v >= 0x80) {
    out[pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  out[pos++] = v;
  return pos;
}

export function zigzag32(n: number): number {
  return ((n << 1) ^ (n >> 31)) >>> 0;
}

export { MORE };
