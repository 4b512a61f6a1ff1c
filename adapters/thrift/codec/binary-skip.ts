// Skips one binary-protocol value without decoding it. Unframed messages carry
// no length, so their end is found by walking the struct tree; no schema needed.
import { BinaryType as T, MAX_NESTING_DEPTH } from './thrift-format';
import { codecError, MORE, type Scan } from './scan';

/**
 * Returns the position after the value of `type` that starts at `pos`, or
 * MORE (with scan.needed) when `buf` ends first. Throws a CODEC MeshError for
 * bytes no Thrift writer produces.
 */
export function skipBinary(buf: Buffer, pos: number, type: number, depth: number, scan: Scan): number {
  const end = buf.length;
  switch (type) {
    case T.BOOL:
    case T.BYTE:
      return pos + 1 <= end ? pos + 1 : scan.more(pos + 1);
    case T.I16:
      return pos + 2 <= end ? pos + 2 : scan.more(pos + 2);
    case T.I32:
      return pos + 4 <= end ? pos + 4 : scan.more(pos + 4);
    case T.DOUBLE:
    case T.I64:
      return pos + 8 <= end ? pos + 8 : scan.more(pos + 8);
    case T.UUID:
      return pos + 16 <= end ? pos + 16 : scan.more(pos + 16);
    case T.STRING: {
      if (pos + 4 > end) return scan.more(pos + 4);
      const len = buf.readInt32BE(pos);
      if (len < 0) throw codecError(`negative string length ${len} at offset ${pos}`);
      const next = pos + 4 + len;
      return next <= end ? next : scan.more(next);
    }
    case T.STRUCT:
      return skipStruct(buf, pos, depth, scan);
    case T.MAP: {
      checkDepth(depth, pos);
      if (pos + 6 > end) return scan.more(pos + 6);
      const kt = buf[pos]!;
      const vt = buf[pos + 1]!;
      const n = buf.readInt32BE(pos + 2);
      if (n < 0) throw codecError(`negative map size ${n} at offset ${pos}`);
      pos += 6;
      if (n === 0) return pos;
      const kw = minWidth(kt, pos);
      const vw = minWidth(vt, pos);
      // Every entry takes at least kw + vw bytes: a garbage count fails fast instead of looping.
      const least = pos + n * (kw + vw);
      if (least > end) return scan.more(least);
      if (isFixed(kt) && isFixed(vt)) return least;
      for (let i = 0; i < n; i++) {
        pos = skipBinary(buf, pos, kt, depth + 1, scan);
        if (pos === MORE) return MORE;
        pos = skipBinary(buf, pos, vt, depth + 1, scan);
        if (pos === MORE) return MORE;
      }
      return pos;
    }
    case T.SET:
    case T.LIST: {
      checkDepth(depth, pos);
      if (pos + 5 > end) return scan.more(pos + 5);
      const et = buf[pos]!;
      const n = buf.readInt32BE(pos + 1);
      if (n < 0) throw codecError(`negative list/set size ${n} at offset ${pos}`);
      pos += 5;
      if (n === 0) return pos;
      const least = pos + n * minWidth(et, pos);
      if (least > end) return scan.more(least);
      if (isFixed(et)) return least;
      for (let i = 0; i < n; i++) {
        pos = skipBinary(buf, pos, et, depth + 1, scan);
        if (pos === MORE) return MORE;
      }
      return pos;
    }
    default:
      throw codecError(`unknown binary protocol type ${type} at offset ${pos}; the bytes are not a Thrift binary message`);
  }
}

/** Skips a struct's fields up to and including its STOP byte. */
export function skipStruct(buf: Buffer, pos: number, depth: number, scan: Scan): number {
  checkDepth(depth, pos);
  const end = buf.length;
  for (;;) {
    if (pos >= end) return scan.more(pos + 1);
    const ft = buf[pos]!;
    if (ft === T.STOP) return pos + 1;
    if (pos + 3 > end) return scan.more(pos + 3);
    pos = skipBinary(buf, pos + 3, ft, depth + 1, scan);
    if (pos === MORE) return MORE;
  }
}

function checkDepth(depth: number, pos: number): void {
  if (depth >= MAX_NESTING_DEPTH) {
    throw codecError(`values nest deeper than ${MAX_NESTING_DEPTH} levels at offset ${pos}; the message is malformed or hostile`);
  }
}

function isFixed(type: number): boolean {
  return type !== T.STRING && type !== T.STRUCT && type !== T.MAP && type !== T.SET && type !== T.LIST;
}

/** The fewest bytes a value of `type` can take; throws for ids that are not types. */
function minWidth(type: number, pos: number): number {
  switch (type) {
    case T.BOOL:
    case T.BYTE:
      return 1;
    case T.I16:
      return 2;
    case T.I32:
      return 4;
    case T.DOUBLE:
    case T.I64:
      return 8;
    case T.UUID:
      return 16;
    case T.STRING:
      return 4;
    case T.STRUCT:
      return 1;
    case T.MAP:
      return 6;
    case T.SET:
    case T.LIST:
      return 5;
    default:
      throw codecError(`unknown binary protocol element type ${type} near offset ${pos}; the bytes are not a Thrift binary message`);
  }
}
