// AsciiStringCache: interface names, method names and attachment keys repeat
// on every call, so decoding the same bytes into a new string each time is
// wasted work. Short strings are looked up by an FNV-1a hash of their bytes
// and confirmed byte for byte; long ones (and unique values such as trace
// ids, past the length limit) are decoded directly.

const MAX_CACHED_LENGTH = 48;
const MAX_ENTRIES = 2048;

interface Entry {
  readonly bytes: Buffer;
  readonly text: string;
}

export class AsciiStringCache {
  private readonly entries = new Map<number, Entry>();

  /** The ASCII string in buf[start, end), from the cache when seen before. */
  read(buf: Buffer, start: number, end: number): string {
    const len = end - start;
    if (len > MAX_CACHED_LENGTH) return buf.toString('latin1', start, end);
    let hash = 0x811c9dc5;
    for (let i = start; i < end; i++) hash = Math.imul(hash ^ buf[i]!, 0x01000193);
    hash &= 0x3fffffff; // a small-integer key keeps the Map lookup on its fast path
    const entry = this.entries.get(hash);
    if (entry !== undefined && entry.bytes.length === len && sameBytes(entry.bytes, buf, start)) return entry.text;
    const text = buf.toString('latin1', start, end);
    // Dropping everything when full keeps the cache bounded against hostile churn.
    if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
    this.entries.set(hash, { bytes: Buffer.from(buf.subarray(start, end)), text });
    return text;
  }
}

function sameBytes(a: Buffer, buf: Buffer, start: number): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== buf[start + i]) return false;
  return true;
}

/** Shared by all codec instances: names are per service, not per connection. */
export const asciiStrings = new AsciiStringCache();
