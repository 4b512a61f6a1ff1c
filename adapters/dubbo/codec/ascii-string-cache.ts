// AsciiStringCache: interface names, method names and attachment keys repeat
// on every call, so decoding the same bytes into a new string each time is
// wasted work. Short strings sit in a direct-mapped table indexed by their
// length and first, middle and last bytes, and are confirmed four bytes at a
// time against the cached text's bytes; long ones (and unique values such as trace ids,
// past the length limit) are decoded directly. A fixed table stays bounded
// against hostile churn: a newcomer simply takes its slot's place.

const MAX_CACHED_LENGTH = 48;
const SLOT_BITS = 11;
/** Whole words of the longest cached string, plus its last (overlapping) word. */
const WORDS_PER_SLOT = (MAX_CACHED_LENGTH >> 2) + 1;

export class AsciiStringCache {
  private readonly texts: string[] = new Array<string>(1 << SLOT_BITS).fill('');
  /** Each text lower-cased (the same string when it already is), for metadata keys. */
  private readonly lowers: string[] = new Array<string>(1 << SLOT_BITS).fill('');
  /** Each text's bytes as little-endian words (no byte swap to read), in the order `slotOf` compares them. */
  private readonly words = new Int32Array((1 << SLOT_BITS) * WORDS_PER_SLOT);

  /**
   * The cached string equal to the bytes buf[start, end), or undefined.
   * A hit proves the bytes are ASCII: only ASCII text is ever cached.
   * The caller guarantees `end <= buf.length`; `view` covers buf's
   * ArrayBuffer, with buf starting at `base` in it.
   */
  find(buf: Buffer, view: DataView<ArrayBufferLike>, base: number, start: number, end: number): string | undefined {
    const at = this.slotOf(buf, view, base, start, end);
    return at < 0 ? undefined : this.texts[at];
  }

  /** As `find`, but the cached string lower-cased. */
  findLowerCased(buf: Buffer, view: DataView<ArrayBufferLike>, base: number, start: number, end: number): string | undefined {
    const at = this.slotOf(buf, view, base, start, end);
    return at < 0 ? undefined : this.lowers[at];
  }

  /** The slot whose text equals buf[start, end), or -1. */
  private slotOf(buf: Buffer, view: DataView<ArrayBufferLike>, base: number, start: number, end: number): number {
    const len = end - start;
    if (len === 0 || len > MAX_CACHED_LENGTH) return -1;
    const at = slot(buf, start, end);
    const text = this.texts[at]!;
    if (text.length !== len) return -1;
    if (len < 4) {
      for (let i = 0; i < len; i++) if (text.charCodeAt(i) !== buf[start + i]) return -1;
      return at;
    }
    const words = this.words;
    let w = at * WORDS_PER_SLOT;
    const last = base + end - 4;
    for (let i = base + start; i < last; i += 4) if (view.getInt32(i, true) !== words[w++]) return -1;
    return view.getInt32(last, true) === words[w] ? at : -1;
  }

  /** Decodes the ASCII string in buf[start, end) (after `find` missed it) and remembers it when short. */
  read(buf: Buffer, start: number, end: number): string {
    const text = buf.toString('latin1', start, end);
    if (end - start <= MAX_CACHED_LENGTH && end > start) {
      const at = slot(buf, start, end);
      this.texts[at] = text;
      this.lowers[at] = text.toLowerCase();
      const len = text.length;
      if (len >= 4) {
        let w = at * WORDS_PER_SLOT;
        for (let i = 0; i < len - 4; i += 4) this.words[w++] = word(text, i);
        this.words[w] = word(text, len - 4);
      }
    }
    return text;
  }
}

/** Four characters of ASCII text as DataView.getInt32(i, true) reads their bytes. */
function word(text: string, i: number): number {
  return text.charCodeAt(i) | (text.charCodeAt(i + 1) << 8) | (text.charCodeAt(i + 2) << 16) | (text.charCodeAt(i + 3) << 24);
}

function slot(buf: Buffer, start: number, end: number): number {
  const len = end - start;
  const key = len ^ (buf[start]! << 8) ^ (buf[start + (len >> 1)]! << 16) ^ (buf[end - 1]! << 24);
  return Math.imul(key, 0x9e3779b1) >>> (32 - SLOT_BITS);
}

/** Shared by all codec instances: names are per service, not per connection. */
export const asciiStrings = new AsciiStringCache();
