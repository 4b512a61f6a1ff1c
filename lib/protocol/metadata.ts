// Metadata: the routable key/value strings a codec extracts from a message.
// Keys are lower-cased on the way in, as the reference's putString does, so
// MetaRouter rules match regardless of how the protocol spelled them.
//
// A message carries a handful of keys, set once per call on the hot path and
// read a few times by the router: two parallel arrays scanned in order beat
// a Map (no hashing, no rehash as it grows). Past SMALL_LIMIT keys the
// entries move into a Map, so a message with thousands of keys stays linear.

const SMALL_LIMIT = 16;

export class Metadata {
  private readonly keys: string[] = [];
  private readonly vals: string[] = [];
  /** Every entry once there are more than SMALL_LIMIT; the arrays are then empty. */
  private map: Map<string, string> | undefined = undefined;

  constructor(init?: Iterable<readonly [string, string]> | Record<string, string>) {
    if (init === undefined) return;
    const entries = Symbol.iterator in Object(init)
      ? (init as Iterable<readonly [string, string]>)
      : Object.entries(init as Record<string, string>);
    for (const [k, v] of entries) this.set(k, v);
  }

  get(key: string): string | undefined {
    if (this.map !== undefined) return this.map.get(key);
    const keys = this.keys;
    for (let i = 0; i < keys.length; i++) if (keys[i] === key) return this.vals[i];
    return undefined;
  }

  has(key: string): boolean {
    return this.map !== undefined ? this.map.has(key) : this.keys.includes(key);
  }

  /** Stores `value` under the lower-cased `key`, replacing any previous value. */
  set(key: string, value: string): this {
    return this.setLowerCased(lower(key), value);
  }

  /**
   * Like `set`, for a codec's hot path: the caller guarantees `key` is
   * already lower case (a literal, or a key it lower-cased once and cached),
   * so the per-call scan is skipped.
   */
  setLowerCased(key: string, value: string): this {
    if (this.map !== undefined) {
      this.map.set(key, value);
      return this;
    }
    const keys = this.keys;
    for (let i = 0; i < keys.length; i++) {
      if (keys[i] === key) {
        this.vals[i] = value;
        return this;
      }
    }
    if (keys.length < SMALL_LIMIT) {
      keys.push(key);
      this.vals.push(value);
      return this;
    }
    const map = new Map<string, string>();
    for (let i = 0; i < keys.length; i++) map.set(keys[i]!, this.vals[i]!);
    map.set(key, value);
    keys.length = 0;
    this.vals.length = 0;
    this.map = map;
    return this;
  }

  delete(key: string): boolean {
    const k = lower(key);
    if (this.map !== undefined) return this.map.delete(k);
    const i = this.keys.indexOf(k);
    if (i < 0) return false;
    this.keys.splice(i, 1);
    this.vals.splice(i, 1);
    return true;
  }

  get size(): number {
    return this.map !== undefined ? this.map.size : this.keys.length;
  }

  entries(): IterableIterator<[string, string]> {
    if (this.map !== undefined) return this.map.entries();
    return this.keys.map((k, i): [string, string] => [k, this.vals[i]!])[Symbol.iterator]();
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }

  clone(): Metadata {
    const copy = new Metadata();
    for (const [k, v] of this.entries()) copy.setLowerCased(k, v);
    return copy;
  }

  toJSON(): Record<string, string> {
    return Object.fromEntries(this.entries());
  }
}

/** Lower-cases only when needed: most keys already are. */
function lower(key: string): string {
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c >= 65 && c <= 90) return key.toLowerCase();
  }
  return key;
}
