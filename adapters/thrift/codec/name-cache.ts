// NameCache: method names repeat on every call, so decoding the same bytes
// into a new string each time is wasted work. Names are looked up by an FNV-1a
// hash of their bytes and confirmed byte for byte.

const MAX_CACHED_LENGTH = 64;
const MAX_ENTRIES = 1024;

interface Entry {
  readonly bytes: Buffer;
  readonly name: string;
}

export class NameCache {
  private readonly entries = new Map<number, Entry>();

  /** The UTF-8 string in buf[start, end), from the cache when seen before. */
  read(buf: Buffer, start: number, end: number): string {
    const len = end - start;
    if (len > MAX_CACHED_LENGTH) return buf.toString('utf8', start, end);
    let hash = 0x811c9dc5;
    for (let i = start; i < end; i++) hash = Math.imul(hash ^ buf[i]!, 0x01000193);
    const entry = this.entries.get(hash);
    if (entry !== undefined && entry.bytes.length === len && sameBytes(entry.bytes, buf, start)) return entry.name;
    const name = buf.toString('utf8', start, end);
    // Dropping everything when full keeps the cache bounded against hostile name churn.
    if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
    this.entries.set(hash, { bytes: Buffer.from(buf.subarray(start, end)), name });
    return name;
  }
}

function sameBytes(a: Buffer, buf: Buffer, start: number): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== buf[start + i]) return false;
  return true;
}

/** Shared by all codec instances: method names are per service, not per connection. */
export const methodNames = new NameCache();
