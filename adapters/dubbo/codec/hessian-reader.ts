// HessianReader: reads just enough hessian2 to route a Dubbo call. It reads
// strings (the invocation's leading fields and attachments) and skips every
// other value without building it, so a call's arguments are never
// materialized. Values are located inside one whole frame: running past the
// body's end is malformed input, not "wait for more".
import { codecError } from './dubbo-frame';
import { asciiStrings } from './ascii-string-cache';

const MAX_DEPTH = 64;
/** Bodies up to this size stay referenced between reads (keeping the DataView over a shared pool); larger ones are let go. */
const RETAINED_BODY_LIMIT = 64 * 1024;
const EMPTY = Buffer.alloc(0);

export class HessianReader {
  buf: Buffer = EMPTY;
  end = 0;
  /** The last string read by readString. */
  str = '';
  /** The last int read by readInt. */
  int = 0;
  /** Field counts of the class definitions seen so far, by definition index; only the first `classCount` count. */
  private readonly classFields: number[] = [];
  private classCount = 0;
  /** A view of buf's whole ArrayBuffer (kept while frames share one, as pooled Buffers do) for reading four bytes at a time. */
  private view: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));
  private viewBuffer: ArrayBufferLike = this.view.buffer;
  /** buf's offset in `view`. */
  private viewBase = 0;

  /** Points the reader at `buf[..end)` and forgets class definitions of any earlier body. */
  reset(buf: Buffer, end: number): void {
    this.buf = buf;
    this.end = end;
    // Overwriting in place instead of truncating keeps the array's storage between bodies.
    this.classCount = 0;
    const ab = buf.buffer;
    if (ab !== this.viewBuffer) {
      this.view = new DataView(ab);
      this.viewBuffer = ab;
    }
    this.viewBase = buf.byteOffset;
  }

  /**
   * Lets go of a large body once it is read: a codec lives as long as its
   * connection, and must not keep a peer's last 8 MiB frame alive with it.
   */
  release(): void {
    if (this.buf.length <= RETAINED_BODY_LIMIT) return;
    this.reset(EMPTY, 0);
  }

  /** True when the byte at `pos` starts a string (any of its encodings). */
  isString(pos: number): boolean {
    const b = this.buf[pos]!;
    return b <= 0x1f || (b >= 0x30 && b <= 0x33) || b === 0x52 || b === 0x53;
  }

  /** True when the byte at `pos` starts an int. */
  isInt(pos: number): boolean {
    const b = this.buf[pos]!;
    return (b >= 0x80 && b <= 0xd7) || b === 0x49;
  }

  /** Reads a string into `str`; returns the position after it. */
  readString(pos: number): number {
    const start = pos;
    const next = this.skipString(pos, true);
    if (next === -2) {
      // Chunked ('R' ... 'S'): rare, so concatenating is fine.
      let text = '';
      pos = start;
      for (;;) {
        const tag = this.byte(pos);
        if (tag !== 0x52 && !this.isString(pos)) throw codecError(`a string chunk is followed by byte 0x${tag.toString(16)} at offset ${pos}`);
        const len = tag === 0x52 || tag === 0x53 ? this.u16(pos + 1) : tag <= 0x1f ? tag : ((tag - 0x30) << 8) + this.byte(pos + 1);
        const at = tag === 0x52 || tag === 0x53 ? pos + 3 : tag <= 0x1f ? pos + 1 : pos + 2;
        const after = this.skipChars(at, len);
        text += this.decodeChars(at, after, len);
        pos = after;
        if (tag !== 0x52) break;
      }
      this.str = text;
      return pos;
    }
    return next;
  }

  /** Reads a string lower-cased into `str` (a metadata key); returns the position after it. */
  readKey(pos: number): number {
    if (pos < this.end) {
      const len = this.buf[pos]!;
      if (len <= 0x1f && pos + 1 + len <= this.end) {
        const hit = asciiStrings.findLowerCased(this.buf, this.view, this.viewBase, pos + 1, pos + 1 + len);
        if (hit !== undefined) {
          this.str = hit;
          return pos + 1 + len;
        }
      }
    }
    pos = this.readString(pos);
    this.str = lowerCased(this.str);
    return pos;
  }

  /** Reads an int (any compact form) into `int`; returns the position after it. */
  readInt(pos: number): number {
    const b = this.byte(pos);
    if (b >= 0x80 && b <= 0xbf) {
      this.int = b - 0x90;
      return pos + 1;
    }
    if (b >= 0xc0 && b <= 0xcf) {
      this.int = ((b - 0xc8) << 8) + this.byte(pos + 1);
      return pos + 2;
    }
    if (b >= 0xd0 && b <= 0xd7) {
      this.int = ((b - 0xd4) << 16) + (this.byte(pos + 1) << 8) + this.byte(pos + 2);
      return pos + 3;
    }
    if (b === 0x49) {
      this.need(pos + 5);
      this.int = this.buf.readInt32BE(pos + 1);
      return pos + 5;
    }
    throw codecError(`expected an int at offset ${pos}, found byte 0x${b.toString(16)}`);
  }

  /** Returns the position after the value that starts at `pos`. */
  skipValue(pos: number, depth = 0): number {
    if (depth > MAX_DEPTH) throw codecError(`values nest deeper than ${MAX_DEPTH} levels at offset ${pos}; the message is malformed or hostile`);
    const b = this.byte(pos);
    if (b <= 0x1f) {
      // Short strings dominate argument lists; an all-ASCII one ends after its length in bytes.
      const stop = pos + 1 + b;
      if (stop <= this.end && this.isAsciiSpan(pos + 1, stop)) return stop;
      return this.skipAnyString(pos);
    }
    if (b >= 0x60 && b <= 0x6f) return this.skipFields(pos + 1, b - 0x60, depth);
    if (b >= 0x70 && b <= 0x77) return this.skipItems(this.skipType(pos + 1), b - 0x70, depth);
    if (b >= 0x30 && b <= 0x33) {
      // Medium strings (up to 1023 characters) such as a text argument: one ASCII pass when they are.
      const stop = pos + 2 + ((b - 0x30) << 8) + (pos + 1 < this.end ? this.buf[pos + 1]! : 0);
      if (stop <= this.end && this.isAsciiSpan(pos + 2, stop)) return stop;
      return this.skipAnyString(pos);
    }
    if (b === 0x52 || b === 0x53) return this.skipAnyString(pos);
    if (b >= 0x80) {
      if (b <= 0xbf) return pos + 1; // compact int
      if (b <= 0xcf) return this.need(pos + 2);
      if (b <= 0xd7) return this.need(pos + 3);
      if (b <= 0xef) return pos + 1; // compact long
      return this.need(pos + 2);
    }
    if (b >= 0x20 && b <= 0x2f) return this.need(pos + 1 + (b - 0x20)); // short binary
    if (b >= 0x34 && b <= 0x37) return this.need(pos + 2 + ((b - 0x34) << 8) + this.byte(pos + 1));
    if (b >= 0x38 && b <= 0x3f) return this.need(pos + 3); // three-octet long
    if (b >= 0x78 && b <= 0x7f) return this.skipItems(pos + 1, b - 0x78, depth);
    switch (b) {
      case 0x41: // binary chunk, more follow
      case 0x42: {
        const next = this.need(pos + 3 + this.u16(pos + 1));
        return b === 0x42 ? next : this.skipValue(next, depth);
      }
      case 0x43: {
        // A class definition, then the value that uses it.
        pos = this.skipAnyString(pos + 1);
        pos = this.readInt(pos);
        const n = this.int;
        if (n < 0 || pos + n > this.end) throw codecError(`a class definition declares ${n} fields at offset ${pos}, more than the body holds`);
        for (let i = 0; i < n; i++) pos = this.skipAnyString(pos);
        this.classFields[this.classCount++] = n;
        return this.skipValue(pos, depth);
      }
      case 0x44: // double
      case 0x4a: // date (ms)
      case 0x4c: // long
        return this.need(pos + 9);
      case 0x49: // int
      case 0x4b: // date (minutes)
      case 0x59: // long as int
      case 0x5f: // double as int mills
        return this.need(pos + 5);
      case 0x46: // false
      case 0x54: // true
      case 0x4e: // null
      case 0x5b: // double 0
      case 0x5c: // double 1
        return pos + 1;
      case 0x5d:
        return this.need(pos + 2);
      case 0x5e:
        return this.need(pos + 3);
      case 0x48: // untyped map
        return this.skipUntil(pos + 1, depth, true);
      case 0x4d: // typed map
        return this.skipUntil(this.skipType(pos + 1), depth, true);
      case 0x4f: {
        pos = this.readInt(pos + 1);
        return this.skipFields(pos, this.int, depth);
      }
      case 0x51: // reference
        return this.readInt(pos + 1);
      case 0x55: // variable-length typed list
        return this.skipUntil(this.skipType(pos + 1), depth, false);
      case 0x56: {
        pos = this.readInt(this.skipType(pos + 1));
        return this.skipItems(pos, this.int, depth);
      }
      case 0x57:
        return this.skipUntil(pos + 1, depth, false);
      case 0x58: {
        pos = this.readInt(pos + 1);
        return this.skipItems(pos, this.int, depth);
      }
      default:
        throw codecError(`byte 0x${b.toString(16)} at offset ${pos} does not start a hessian2 value`);
    }
  }

  /**
   * Skips one string. With `read`, also leaves it in `str`. Returns -2 for a
   * chunked string, which the caller handles on the slow path.
   */
  private skipString(pos: number, read: boolean): number {
    const b = this.byte(pos);
    let len: number;
    let at: number;
    if (b <= 0x1f) {
      len = b;
      at = pos + 1;
    } else if (b >= 0x30 && b <= 0x33) {
      len = ((b - 0x30) << 8) + this.byte(pos + 1);
      at = pos + 2;
    } else if (b === 0x53) {
      len = this.u16(pos + 1);
      at = pos + 3;
    } else if (b === 0x52) {
      return -2;
    } else {
      throw codecError(`expected a string at offset ${pos}, found byte 0x${b.toString(16)}`);
    }
    if (read && at + len <= this.end) {
      // A cached string proves its bytes ASCII, so it spans exactly `len` bytes.
      const hit = asciiStrings.find(this.buf, this.view, this.viewBase, at, at + len);
      if (hit !== undefined) {
        this.str = hit;
        return at + len;
      }
    }
    const after = this.skipChars(at, len);
    if (read) this.str = this.decodeChars(at, after, len);
    return after;
  }

  private skipChunkedString(pos: number): number {
    for (;;) {
      const tag = this.byte(pos);
      if (tag !== 0x52) {
        const next = this.skipString(pos, false);
        if (next === -2) throw codecError(`malformed chunked string at offset ${pos}`);
        return next;
      }
      pos = this.skipChars(pos + 3, this.u16(pos + 1));
    }
  }

  /**
   * The position after `n` characters of hessian's UTF-8 (CESU-8 from Java and
   * hessian.js: one to three bytes per UTF-16 unit; a four-byte sequence from
   * other writers counts as two units).
   */
  private skipChars(pos: number, n: number): number {
    const buf = this.buf;
    const end = this.end;
    // The common case: all ASCII, checked four bytes at a time.
    if (pos + n <= end) {
      const stop = pos + n;
      if (this.isAsciiSpan(pos, stop)) return stop;
      let i = pos;
      while (i < stop && buf[i]! < 0x80) i++;
      if (i === stop) return stop;
      n -= i - pos;
      pos = i;
    }
    while (n > 0) {
      if (pos >= end) throw codecError(`a string runs past the end of the body at offset ${pos}`);
      const c = buf[pos]!;
      if (c < 0x80) pos += 1;
      else if (c < 0xe0) pos += 2;
      else if (c < 0xf0) pos += 3;
      else {
        pos += 4;
        n--;
      }
      n--;
    }
    if (pos > end) throw codecError(`a string runs past the end of the body at offset ${pos}`);
    return pos;
  }

  private decodeChars(start: number, end: number, chars: number): string {
    if (end - start === chars) return asciiStrings.read(this.buf, start, end);
    const buf = this.buf;
    // Node's UTF-8 decoder reads everything but the surrogate halves Java
    // writes one by one (CESU-8: 0xED 0xA0..0xBF ..), which it would replace.
    // (Searched within the string only: a search to the frame's end per string would be quadratic.)
    if (!buf.subarray(start, end).includes(0xed)) return buf.toString('utf8', start, end);
    // UTF-16LE units decoded into one buffer: linear, and no string built per character.
    const units = Buffer.allocUnsafe(chars * 2);
    let n = 0;
    const put = (unit: number): void => {
      units[n++] = unit & 0xff;
      units[n++] = unit >> 8;
    };
    for (let i = start; i < end && n < units.length; ) {
      const c = buf[i]!;
      if (c < 0x80) {
        put(c);
        i += 1;
      } else if (c < 0xe0) {
        put(((c & 0x1f) << 6) | (buf[i + 1]! & 0x3f));
        i += 2;
      } else if (c < 0xf0) {
        put(((c & 0x0f) << 12) | ((buf[i + 1]! & 0x3f) << 6) | (buf[i + 2]! & 0x3f));
        i += 3;
      } else {
        const cp = ((c & 0x07) << 18) | ((buf[i + 1]! & 0x3f) << 12) | ((buf[i + 2]! & 0x3f) << 6) | (buf[i + 3]! & 0x3f);
        if (cp > 0x10ffff) throw codecError(`a string holds the invalid code point 0x${cp.toString(16)} at offset ${i}`);
        if (cp < 0x10000) put(cp);
        else {
          put(0xd800 + ((cp - 0x10000) >> 10));
          if (n < units.length) put(0xdc00 + ((cp - 0x10000) & 0x3ff));
        }
        i += 4;
      }
    }
    return units.toString('utf16le', 0, n);
  }

  /** A map or list type: a type name string or an int reference to an earlier one. */
  private skipType(pos: number): number {
    return this.isInt(pos) ? this.readInt(pos) : this.skipAnyString(pos);
  }

  /** Skips a string, chunked or not. */
  skipAnyString(pos: number): number {
    // Short ASCII strings (type and field names) end after their length in bytes.
    if (pos < this.end) {
      const b = this.buf[pos]!;
      const stop = pos + 1 + b;
      if (b <= 0x1f && stop <= this.end && this.isAsciiSpan(pos + 1, stop)) return stop;
    }
    const next = this.skipString(pos, false);
    return next === -2 ? this.skipChunkedString(pos) : next;
  }

  private skipFields(pos: number, defIndex: number, depth: number): number {
    const n = defIndex < this.classCount ? this.classFields[defIndex] : undefined;
    if (n === undefined) throw codecError(`an object at offset ${pos} refers to class definition ${defIndex}, which the body never defined`);
    return this.skipItems(pos, n, depth);
  }

  private skipItems(pos: number, n: number, depth: number): number {
    // Every value takes at least one byte: a garbage count fails here instead of looping.
    if (n < 0 || pos + n > this.end) throw codecError(`a list at offset ${pos} claims ${n} items, more than the body holds`);
    const buf = this.buf;
    const end = this.end;
    // Items before this index take the general path: a run of them failed the ASCII check.
    let slowUntil = 0;
    for (let i = 0; i < n; ) {
      const b = pos < end ? buf[pos]! : 0x100;
      if (b <= 0x1f) {
        if (i >= slowUntil) {
          // A run of short strings (lists of names, ids, tags): find its end as if
          // all ASCII, then prove that with one pass; the length bytes are ASCII too.
          let p = pos;
          let j = i;
          while (j < n && p < end) {
            const c = buf[p]!;
            if (c > 0x1f || p + 1 + c > end) break;
            p += 1 + c;
            j++;
          }
          if (j > i && this.isAsciiSpan(pos, p)) {
            pos = p;
            i = j;
            continue;
          }
          // Each item of the failed run is read once more, so hostile lists stay linear.
          slowUntil = j;
        }
      } else if (b >= 0x80 && b <= 0xbf) {
        // Compact ints skip inline, without a call.
        pos++;
        i++;
        continue;
      }
      pos = this.skipValue(pos, depth + 1);
      i++;
    }
    return pos;
  }

  /** Skips values (pairs, for maps) up to and including the 'Z' terminator. */
  private skipUntil(pos: number, depth: number, pairs: boolean): number {
    for (;;) {
      if (this.byte(pos) === 0x5a) return pos + 1;
      pos = this.skipValue(pos, depth + 1);
      if (pairs) pos = this.skipValue(pos, depth + 1);
    }
  }

  /** True when every byte of buf[pos, stop) is ASCII; `stop` must be within the body. */
  private isAsciiSpan(pos: number, stop: number): boolean {
    if (stop - pos < 4) {
      const buf = this.buf;
      for (let i = pos; i < stop; i++) if (buf[i]! >= 0x80) return false;
      return true;
    }
    const view = this.view;
    const last = this.viewBase + stop - 4;
    // Whole words, then one last word that may overlap the previous one. The
    // high-bit mask is the same in either byte order, so words are read
    // little-endian (no byte swap), and long spans OR four words per test.
    let i = this.viewBase + pos;
    for (const last16 = last - 12; i < last16; i += 16) {
      if (((view.getInt32(i, true) | view.getInt32(i + 4, true) | view.getInt32(i + 8, true) | view.getInt32(i + 12, true)) & 0x80808080) !== 0) return false;
    }
    for (; i < last; i += 4) if ((view.getInt32(i, true) & 0x80808080) !== 0) return false;
    return (view.getInt32(last, true) & 0x80808080) === 0;
  }

  private byte(pos: number): number {
    if (pos >= this.end) throw codecError(`the body ends at offset ${this.end} inside a value`);
    return this.buf[pos]!;
  }

  private u16(pos: number): number {
    this.need(pos + 2);
    return (this.buf[pos]! << 8) | this.buf[pos + 1]!;
  }

  /** Checks that a value ending at `next` fits in the body; returns `next`. */
  private need(next: number): number {
    if (next > this.end) throw codecError(`the body ends at offset ${this.end} inside a value that needs ${next - this.end} more bytes`);
    return next;
  }
}

/** Lower-cases the way Metadata.set does: only when the key holds an ASCII capital. */
function lowerCased(key: string): string {
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c >= 65 && c <= 90) return key.toLowerCase();
  }
  return key;
}
