// Metadata: the routable key/value strings a codec extracts from a message.
// Keys are lower-cased on the way in, as the reference's putString does, so
// MetaRouter rules match regardless of how the protocol spelled them.

export class Metadata {
  private readonly values: Map<string, string>;

  constructor(init?: Iterable<readonly [string, string]> | Record<string, string>) {
    this.values = new Map();
    if (init === undefined) return;
    const entries = Symbol.iterator in Object(init)
      ? (init as Iterable<readonly [string, string]>)
      : Object.entries(init as Record<string, string>);
    for (const [k, v] of entries) this.set(k, v);
  }

  get(key: string): string | undefined {
    return this.values.get(key);
  }

  has(key: string): boolean {
    return this.values.has(key);
  }

  /** Stores `value` under the lower-cased `key`, replacing any previous value. */
  set(key: string, value: string): this {
    this.values.set(lower(key), value);
    return this;
  }

  /**
   * Like `set`, for a codec's hot path: the caller guarantees `key` is
   * already lower case (a literal, or a key it lower-cased once and cached),
   * so the per-call scan is skipped.
   */
  setLowerCased(key: string, value: string): this {
    this.values.set(key, value);
    return this;
  }

  delete(key: string): boolean {
    return this.values.delete(lower(key));
  }

  get size(): number {
    return this.values.size;
  }

  entries(): IterableIterator<[string, string]> {
    return this.values.entries();
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.values.entries();
  }

  clone(): Metadata {
    const copy = new Metadata();
    for (const [k, v] of this.values) copy.values.set(k, v);
    return copy;
  }

  toJSON(): Record<string, string> {
    return Object.fromEntries(this.values);
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
