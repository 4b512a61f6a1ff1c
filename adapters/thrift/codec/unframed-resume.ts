// Finds the end of an unframed Thrift message that arrives in pieces, in time
// linear in its size. An unframed message has no length, so its end is found
// by walking the value tree; walking from the start again for every chunk
// made a 12 MB message in 1 KiB chunks cost 14 s of CPU. This walker keeps its
// place (an explicit stack of open structs, lists and maps and the position
// after the last whole item) between calls, so each byte is read once.
// Scalars and runs of fixed-width elements are taken whole: they wait for all
// their bytes, so a large string costs one look.
import { frameTooLarge } from './detect-format';
import { codecError, MORE, type Scan } from './scan';
import { skipBinary } from './binary-skip';
import { skipCompact } from './compact-skip';
import { BinaryType as B, CompactType as C, MAX_NESTING_DEPTH, type ThriftProtocol } from './thrift-format';
import { readVarint32, skipVarint } from './varint';

const STRUCT = 0;
const LIST = 1;
const MAP = 2;

interface Open {
  readonly kind: number;
  /** MAP: key type. */
  readonly kt: number;
  /** LIST/SET: element type; MAP: value type. */
  readonly vt: number;
  /** LIST/SET: elements left; MAP: entries left. */
  left: number;
  /** MAP: the next value is a key. */
  key: boolean;
}

export class UnframedResume {
  private readonly open: Open[] = [{ kind: STRUCT, kt: 0, vt: 0, left: 0, key: false }];
  /** Position after the last whole item. */
  private pos: number;

  constructor(
    readonly protocol: ThriftProtocol,
    bodyStart: number,
    private readonly maxFrameSize: number,
  ) {
    this.pos = bodyStart;
  }

  /**
   * Walks on from where the last call stopped, over `buf` (the same message
   * bytes as before, and more). Returns the message's end, or MORE with
   * scan.needed; throws a CODEC MeshError for bytes no Thrift writer produces.
   */
  run(buf: Buffer, scan: Scan): number {
    const compact = this.protocol === 'compact';
    const end = buf.length;
    const open = this.open;
    let pos = this.pos;
    for (;;) {
      const top = open[open.length - 1];
      if (top === undefined) return (this.pos = pos);
      let type: number;
      let at: number;
      if (top.kind === STRUCT) {
        if (pos >= end) return this.stop(pos, scan.more(pos + 1));
        const head = buf[pos]!;
        if (head === B.STOP) {
          pos++;
          open.pop();
          continue;
        }
        if (compact) {
          type = head & 0x0f;
          at = pos + 1;
          // A zero delta means the field id follows as a zigzag i16 varint.
          if (head >>> 4 === 0) {
            at = skipVarint(buf, at, end, 3, scan);
            if (at === MORE) return this.stop(pos, MORE);
          }
          if (type === C.BOOLEAN_TRUE || type === C.BOOLEAN_FALSE) {
            pos = at; // a boolean field keeps its value in the header
            continue;
          }
        } else {
          type = head;
          at = pos + 3;
          if (at > end) return this.stop(pos, scan.more(at));
        }
      } else {
        if (top.left === 0) {
          open.pop();
          continue;
        }
        type = top.kind === MAP && top.key ? top.kt : top.vt;
        at = pos;
      }
      const next = compact ? this.compactValue(buf, at, type, scan) : this.binaryValue(buf, at, type, scan);
      if (next === MORE) return this.stop(pos, MORE);
      if (top.kind === LIST) top.left--;
      else if (top.kind === MAP) {
        if (!top.key) top.left--;
        top.key = !top.key;
      }
      pos = next;
    }
  }

  private stop(pos: number, result: number): number {
    this.pos = pos;
    return result;
  }

  /** Skips a value whole, or opens a container (pushed; the position after its header is returned). */
  private binaryValue(buf: Buffer, at: number, type: number, scan: Scan): number {
    const end = buf.length;
    switch (type) {
      case B.STRUCT:
        return this.push(STRUCT, 0, 0, 0, at);
      case B.SET:
      case B.LIST: {
        if (at + 5 > end) return scan.more(at + 5);
        const et = buf[at]!;
        const n = buf.readInt32BE(at + 1);
        if (n < 0) throw codecError(`negative list/set size ${n} at offset ${at}`);
        return this.elements(at + 5, n, 0, 0, et, binaryWidth(et, at), end, scan);
      }
      case B.MAP: {
        if (at + 6 > end) return scan.more(at + 6);
        const kt = buf[at]!;
        const vt = buf[at + 1]!;
        const n = buf.readInt32BE(at + 2);
        if (n < 0) throw codecError(`negative map size ${n} at offset ${at}`);
        return this.elements(at + 6, n, kt, binaryWidth(kt, at), vt, binaryWidth(vt, at), end, scan);
      }
      default:
        return skipBinary(buf, at, type, 0, scan);
    }
  }

  private compactValue(buf: Buffer, at: number, type: number, scan: Scan): number {
    const end = buf.length;
    switch (type) {
      case C.STRUCT:
        return this.push(STRUCT, 0, 0, 0, at);
      case C.SET:
      case C.LIST: {
        if (at >= end) return scan.more(at + 1);
        const head = buf[at]!;
        let p = at + 1;
        let n = head >>> 4;
        if (n === 15) {
          p = readVarint32(buf, p, end, scan);
          if (p === MORE) return MORE;
          n = scan.value;
          if (n > 0x7fffffff) throw codecError(`negative list/set size near offset ${p}`);
        }
        const et = head & 0x0f;
        return this.elements(p, n, 0, 0, et, compactWidth(et, at), end, scan);
      }
      case C.MAP: {
        let p = readVarint32(buf, at, end, scan);
        if (p === MORE) return MORE;
        const n = scan.value;
        if (n > 0x7fffffff) throw codecError(`negative map size near offset ${p}`);
        if (n === 0) return p;
        if (p >= end) return scan.more(p + 1);
        const types = buf[p++]!;
        return this.elements(p, n, types >>> 4, compactWidth(types >>> 4, at), types & 0x0f, compactWidth(types & 0x0f, at), end, scan);
      }
      default:
        return skipCompact(buf, at, type, 0, scan);
    }
  }

  /**
   * `n` elements (or entries, when kw is not 0) starting at `p`. Widths are
   * positive when fixed (the run is taken whole), negative (minus the least
   * size) when not (the container is opened).
   */
  private elements(p: number, n: number, kt: number, kw: number, vt: number, vw: number, end: number, scan: Scan): number {
    if (n === 0) return p;
    // Every element takes at least this much: a garbage count fails fast instead of waiting for bytes that never come.
    const least = p + n * (Math.abs(kw) + Math.abs(vw));
    if (least > this.maxFrameSize) throw frameTooLarge(least, this.maxFrameSize);
    if (kw >= 0 && vw > 0) return least <= end ? least : scan.more(least);
    return kw === 0 ? this.push(LIST, 0, vt, n, p) : this.push(MAP, kt, vt, n, p);
  }

  private push(kind: number, kt: number, vt: number, left: number, at: number): number {
    if (this.open.length >= MAX_NESTING_DEPTH) {
      throw codecError(`values nest deeper than ${MAX_NESTING_DEPTH} levels at offset ${at}; the message is malformed or hostile`);
    }
    this.open.push({ kind, kt, vt, left, key: kind === MAP });
    return at;
  }
}

/** A fixed width, or minus the least width of a variable-size type; throws for ids that are not types. */
function binaryWidth(type: number, pos: number): number {
  switch (type) {
    case B.BOOL:
    case B.BYTE:
      return 1;
    case B.I16:
      return 2;
    case B.I32:
      return 4;
    case B.DOUBLE:
    case B.I64:
      return 8;
    case B.UUID:
      return 16;
    case B.STRING:
      return -4;
    case B.STRUCT:
      return -1;
    case B.MAP:
      return -6;
    case B.SET:
    case B.LIST:
      return -5;
    default:
      throw codecError(`unknown binary protocol element type ${type} near offset ${pos}; the bytes are not a Thrift binary message`);
  }
}

function compactWidth(type: number, pos: number): number {
  switch (type) {
    case C.BOOLEAN_TRUE:
    case C.BOOLEAN_FALSE:
    case C.BYTE:
      return 1;
    case C.DOUBLE:
      return 8;
    case C.UUID:
      return 16;
    case C.I16:
    case C.I32:
    case C.I64:
    case C.BINARY:
    case C.LIST:
    case C.SET:
    case C.MAP:
    case C.STRUCT:
      return -1;
    default:
      throw codecError(`unknown compact protocol element type ${type} near offset ${pos}; the bytes are not a Thrift compact message`);
  }
}
