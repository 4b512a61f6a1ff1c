// Skips one compact-protocol value without decoding it, to find where an
// unframed compact message ends.
import { CompactType as T, MAX_NESTING_DEPTH } from './thrift-format';
import { codecError, MORE, type Scan } from './scan';
import { readVarint32, skipVarint } from './varint';

/**
 * Returns the position after the value of `type` at `pos`, or MORE (with
 * scan.needed). Booleans here are collection elements (one byte each); a
 * boolean field keeps its value in the field header and is handled by
 * skipCompactStruct.
 */
export function skipCompact(buf: Buffer, pos: number, type: number, depth: number, scan: Scan): number {
  const end = buf.length;
  switch (type) {
    case T.BOOLEAN_TRUE:
    case T.BOOLEAN_FALSE:
    case T.BYTE:
      return pos + 1 <= end ? pos + 1 : scan.more(pos + 1);
    case T.I16:
      return skipVarint(buf, pos, end, 3, scan);
    case T.I32:
      return skipVarint(buf, pos, end, 5, scan);
    case T.I64:
      return skipVarint(buf, pos, end, 10, scan);
    case T.DOUBLE:
      return pos + 8 <= end ? pos + 8 : scan.more(pos + 8);
    case T.UUID:
      return pos + 16 <= end ? pos + 16 : scan.more(pos + 16);
    case T.BINARY: {
      const at = pos;
      pos = readVarint32(buf, pos, end, scan);
      if (pos === MORE) return MORE;
      const len = scan.value;
      if (len > 0x7fffffff) throw codecError(`negative binary length at offset ${at}`);
      const next = pos + len;
      return next <= end ? next : scan.more(next);
    }
    case T.STRUCT:
      return skipCompactStruct(buf, pos, depth, scan);
    case T.LIST:
    case T.SET: {
      checkDepth(depth, pos);
      if (pos >= end) return scan.more(pos + 1);
      const head = buf[pos++]!;
      const et = head & 0x0f;
      let n = head >>> 4;
      if (n === 15) {
        pos = readVarint32(buf, pos, end, scan);
        if (pos === MORE) return MORE;
        n = scan.value;
        if (n > 0x7fffffff) throw codecError(`negative list/set size near offset ${pos}`);
      }
      if (n === 0) return pos;
      return skipElements(buf, pos, et, n, depth, scan);
    }
    case T.MAP: {
      checkDepth(depth, pos);
      pos = readVarint32(buf, pos, end, scan);
      if (pos === MORE) return MORE;
      const n = scan.value;
      if (n > 0x7fffffff) throw codecError(`negative map size near offset ${pos}`);
      if (n === 0) return pos;
      if (pos >= end) return scan.more(pos + 1);
      const types = buf[pos++]!;
      const kt = types >>> 4;
      const vt = types & 0x0f;
      const least = pos + n * (minWidth(kt, pos) + minWidth(vt, pos));
      if (least > end) return scan.more(least);
      for (let i = 0; i < n; i++) {
        pos = skipCompact(buf, pos, kt, depth + 1, scan);
        if (pos === MORE) return MORE;
        pos = skipCompact(buf, pos, vt, depth + 1, scan);
        if (pos === MORE) return MORE;
      }
      return pos;
    }
    default:
      throw codecError(`unknown compact protocol type ${type} at offset ${pos}; the bytes are not a Thrift compact message`);
  }
}

/** Skips a struct's fields up to and including its STOP byte. */
export function skipCompactStruct(buf: Buffer, pos: number, depth: number, scan: Scan): number {
  checkDepth(depth, pos);
  const end = buf.length;
  for (;;) {
    if (pos >= end) return scan.more(pos + 1);
    const head = buf[pos++]!;
    if (head === T.STOP) return pos;
    const ft = head & 0x0f;
    // A zero delta means the field id follows as a zigzag i16 varint.
    if (head >>> 4 === 0) {
      pos = skipVarint(buf, pos, end, 3, scan);
      if (pos === MORE) return MORE;
    }
    if (ft === T.BOOLEAN_TRUE || ft === T.BOOLEAN_FALSE) continue;
    pos = skipCompact(buf, pos, ft, depth + 1, scan);
    if (pos === MORE) return MORE;
  }
}

function skipElements(buf: Buffer, pos: number, et: number, n: number, depth: number, scan: Scan): number {
  const width = minWidth(et, pos);
  const least = pos + n * width;
  if (least > buf.length) return scan.more(least);
  if (et === T.BOOLEAN_TRUE || et === T.BOOLEAN_FALSE || et === T.BYTE || et === T.DOUBLE || et === T.UUID) return least;
  for (let i = 0; i < n; i++) {
    pos = skipCompact(buf, pos, et, depth + 1, scan);
    if (pos === MORE) return MORE;
  }
  return pos;
}

function checkDepth(depth: number, pos: number): void {
  if (depth >= MAX_NESTING_DEPTH) {
    throw codecError(`values nest deeper than ${MAX_NESTING_DEPTH} levels at offset ${pos}; the message is malformed or hostile`);
  }
}

/** The fewest bytes an element of `type` takes; throws for ids that are not types. */
function minWidth(type: number, pos: number): number {
  switch (type) {
    case T.DOUBLE:
      return 8;
    case T.UUID:
      return 16;
    case T.BOOLEAN_TRUE:
    case T.BOOLEAN_FALSE:
    case T.BYTE:
    case T.I16:
    case T.I32:
    case T.I64:
    case T.BINARY:
    case T.LIST:
    case T.SET:
    case T.MAP:
    case T.STRUCT:
      return 1;
    default:
      throw codecError(`unknown compact protocol element type ${type} near offset ${pos}; the bytes are not a Thrift compact message`);
  }
}
