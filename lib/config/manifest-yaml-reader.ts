// readManifestYaml: a reader for the YAML that generated manifests are
// written in (block mappings and sequences, one-line flow collections, plain
// and simple quoted scalars, comments), several times faster than a general
// YAML parser on a 100k-endpoint file. It gives exactly what js-yaml's
// loadAll gives with the core schema (plain scalars are typed by js-yaml's
// own core tags), or undefined as soon as the text uses anything else: block
// scalars, anchors, tags, multi-line scalars, escapes, duplicate keys,
// directives, tabs, a document marker with content. The caller then reads
// the file with js-yaml, which also rejects what is not YAML; this reader
// never has to decide what an error says.

import { NOT_RESOLVED, boolCoreTag, floatCoreTag, intCoreTag, nullCoreTag } from 'js-yaml';

/** Thrown (one object, no stack) to give up on the text. */
const UNSUPPORTED: unique symbol = Symbol('unsupported YAML');

/** Characters this reader never handles: tabs, CR, BOM, control characters, surrogates and non-characters. */
const UNSAFE = /[\t\r\uFEFF\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F\uD800-\uDFFF\uFFFE\uFFFF]/;

const NL = 10;
const SPACE = 32;
const HASH = 35;
const COLON = 58;
const DASH = 45;

type CoreTag = typeof nullCoreTag | typeof boolCoreTag | typeof intCoreTag | typeof floatCoreTag;
/** The core tags that may read a plain scalar, by its first character (as js-yaml picks them). */
const TAGS_BY_FIRST = new Map<string, readonly CoreTag[]>();
for (const c of '~nN') TAGS_BY_FIRST.set(c, [nullCoreTag]);
for (const c of 'tTfF') TAGS_BY_FIRST.set(c, [boolCoreTag]);
for (const c of '-+0123456789') TAGS_BY_FIRST.set(c, [intCoreTag, floatCoreTag]);
TAGS_BY_FIRST.set('.', [floatCoreTag]);
/** The same, by character code (ASCII), without a one-character string per scalar. */
const TAGS_BY_CODE: (readonly CoreTag[] | undefined)[] = Array.from({ length: 128 }, (_, c) => TAGS_BY_FIRST.get(String.fromCharCode(c)));
/** Characters a plain scalar may not start with (YAML indicators). */
const INDICATOR = new Set("-?:,[]{}#&*!|>'\"%@`");

/** The documents of `text` as js-yaml's loadAll (core schema) reads them, or undefined when the text is not in this reader's subset. */
export function readManifestYaml(text: string): unknown[] | undefined {
  return readManifestYamlDocuments(text)?.map((d) => d.value);
}

/** A document readManifestYamlDocuments read, and where its text is. */
export interface ManifestYamlDocument {
  readonly value: unknown;
  /**
   * The document's text is text.slice(start, end): from the start of the
   * line its root node begins on to the start of the next document marker
   * line (or the end). Parsed alone, that text is the same document: this
   * reader takes no directives, anchors or tags that could tie it to
   * another. An empty document has start === end.
   */
  readonly start: number;
  readonly end: number;
}

/** readManifestYaml, with where each document's text is (to find a field's line only when a message needs it). */
export function readManifestYamlDocuments(text: string): ManifestYamlDocument[] | undefined {
  if (UNSAFE.test(text)) return undefined;
  try {
    return new Reader(text).documents();
  } catch (err) {
    if (err === UNSUPPORTED) return undefined;
    throw err;
  }
}

function unsupported(): never {
  throw UNSUPPORTED;
}

/** A plain scalar typed as the core schema types it. */
function typed(source: string): unknown {
  const first = source.charCodeAt(0);
  const tags = first < 128 ? TAGS_BY_CODE[first] : undefined;
  if (tags === undefined) return source;
  if (source.length < 16 && isDigits(source)) return Number(source); // what the int tag gives, without its regex
  // Two dots (an IPv4 address): no core int has a dot and no core float two, so a string, without their regexes.
  const dot = source.indexOf('.');
  if (dot >= 0 && source.indexOf('.', dot + 1) > dot) return source;
  for (const tag of tags) {
    const value: unknown = tag.resolve(source, false, tag.tagName);
    if (value !== NOT_RESOLVED) return value;
  }
  return source;
}

/** A key as a plain string: one the core schema would read as anything else (null, a number) is left to js-yaml. */
function isDigits(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** Sets a key once: js-yaml refuses a duplicate key (the positioned path then names its line). */
function setKey(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__' || Object.hasOwn(target, key)) unsupported();
  target[key] = value;
}

function plainKey(source: string): string {
  if (source === '' || INDICATOR.has(source.charAt(0)) || source === '<<' || source === '__proto__' || typed(source) !== source) unsupported();
  return source;
}

/** Whether `text` holds `k` at `p` (a few characters: a loop the compiler inlines beats a call to startsWith). */
function sameChars(text: string, p: number, k: string): boolean {
  for (let i = 0; i < k.length; i++) if (text.charCodeAt(p + i) !== k.charCodeAt(i)) return false;
  return true;
}

/** Plain keys remembered per reader: a manifest file repeats a few dozen keys (address, ports, labels) many thousand times. */
const KEYS_KEPT = 64;

/**
 * Values remembered per reader by their text: a generated file repeats the
 * same small nested values thousands of times (each endpoint's `ports:
 * {tcp-thrift: 9090}` and `labels: {version: v1}`), and the same text reads
 * as the same value. Only texts up to VALUE_TEXT_MAX characters, and at most
 * VALUES_KEPT of them.
 */
const VALUES_KEPT = 1024;
const VALUE_TEXT_MAX = 256;

/** Collections one reader returned for several places of its text (see Reader.values). */
const sharedValues = new WeakSet<object>();

/**
 * Whether `value` is a collection the reader returned for every place its
 * text repeats: a check that finds it clean once may take it as clean at the
 * other places (schema.ts).
 */
export function isSharedValue(value: object): boolean {
  return sharedValues.has(value);
}

/** A value read once, and how many characters of text it took. */
interface KeptValue {
  readonly value: unknown;
  readonly length: number;
}

class Reader {
  /** Start of the current line. */
  private pos = 0;
  /** Where the scalar or flow collection read last ended. */
  private end = 0;
  /**
   * Plain keys read so far, each a checked key as plainKey returned it.
   * Taking the one already made for the same characters spares a string and,
   * above all, V8's look-up of a new string each time it names a property.
   */
  private readonly keys = new Map<number, string[]>();
  private keysKept = 0;
  /**
   * Flow collections and nested blocks read so far, by their text (a flow
   * collection's from its bracket to the end of its line, a block's from its
   * first line to the line after it). One object then stands for every
   * occurrence of the same text: values read from text are never changed
   * after, by this reader or by the checks that take them (schema.ts copies
   * what it cleans), so sharing them is safe, and it spares the reading, the
   * objects and the collections that would copy them.
   */
  private readonly values = new Map<string, KeptValue>();

  constructor(private readonly text: string) {}

  /** plainKey of the text from `p` to `end` (spaces before `end` not trimmed yet). */
  private plainKeyAt(p: number, end: number): string {
    const t = this.text;
    const length = end - p;
    // Keys by first character and length: usually one candidate to compare.
    const slot = t.charCodeAt(p) * 1024 + Math.min(length, 1023);
    const same = this.keys.get(slot);
    if (same !== undefined) {
      for (const k of same) if (k.length === length && sameChars(t, p, k)) return k;
    }
    const key = plainKey(t.slice(p, end).trimEnd());
    // Only a key that is the whole slice (no spaces to trim) can be found again by its length.
    if (key.length === length && this.keysKept < KEYS_KEPT) {
      this.keysKept++;
      if (same === undefined) this.keys.set(slot, [key]);
      else same.push(key);
    }
    return key;
  }

  documents(): ManifestYamlDocument[] {
    const docs: ManifestYamlDocument[] = [];
    const empty = (at: number) => docs.push({ value: null, start: at, end: at });
    let explicit = false;
    for (;;) {
      const q = this.skipBlank();
      if (q === undefined) break;
      if (this.isMarker(this.pos)) {
        if (explicit) empty(this.pos);
        explicit = true;
        this.pos = this.nextLine(this.pos);
        continue;
      }
      const start = this.pos;
      const root = this.node(q - this.pos, q);
      // The root node ends at a document marker or the end of the text; anything else is not for this reader.
      const after = this.skipBlank();
      if (after !== undefined && !this.isMarker(this.pos)) unsupported();
      docs.push({ value: root, start, end: after === undefined ? this.text.length : this.pos });
      explicit = false;
    }
    if (explicit) empty(this.text.length);
    return docs;
  }

  /** Moves `pos` to the next line with content (not blank, not a comment); returns where its content starts. */
  private skipBlank(): number | undefined {
    const t = this.text;
    while (this.pos < t.length) {
      let q = this.pos;
      while (t.charCodeAt(q) === SPACE) q++;
      if (q < t.length && t.charCodeAt(q) !== NL && t.charCodeAt(q) !== HASH) return q;
      this.pos = this.nextLine(q);
    }
    return undefined;
  }

  private nextLine(from: number): number {
    const nl = this.text.indexOf('\n', from);
    return nl < 0 ? this.text.length : nl + 1;
  }

  /** A `---` line; other lines starting with `---` or `...` (document end, inline content) are not for this reader. */
  private isMarker(line: number): boolean {
    const t = this.text;
    if (t.startsWith('...', line)) unsupported();
    if (!t.startsWith('---', line)) return false;
    const c = t.charCodeAt(line + 3);
    if (Number.isNaN(c) || c === NL) return true;
    if (c !== SPACE) unsupported();
    const rest = this.afterSpaces(line + 3);
    if (rest < t.length && t.charCodeAt(rest) !== NL && t.charCodeAt(rest) !== HASH) unsupported();
    return true;
  }

  private afterSpaces(p: number): number {
    while (this.text.charCodeAt(p) === SPACE) p++;
    return p;
  }

  /** After a value on its line: only spaces and a comment may follow. Moves to the next line. */
  private endLine(p: number): void {
    const t = this.text;
    const q = this.afterSpaces(p);
    // Only a comment may follow, and a comment needs a space before it.
    if (q < t.length && t.charCodeAt(q) !== NL && (t.charCodeAt(q) !== HASH || t.charCodeAt(q - 1) !== SPACE)) unsupported();
    this.pos = this.nextLine(q);
  }

  /**
   * The next line with content, when it continues a block at column `col`
   * (undefined: the block ended). A line indented deeper is not for this reader.
   */
  private sameBlock(col: number): number | undefined {
    const q = this.skipBlank();
    if (q === undefined || (q === this.pos && this.isMarker(this.pos))) return undefined;
    const indent = q - this.pos;
    if (indent > col) unsupported();
    return indent === col ? q : undefined;
  }

  private isDash(p: number): boolean {
    const t = this.text;
    if (t.charCodeAt(p) !== DASH) return false;
    const c = t.charCodeAt(p + 1);
    return Number.isNaN(c) || c === SPACE || c === NL;
  }

  /** A block node whose first character is at `p`, in column `col`. */
  private node(col: number, p: number): unknown {
    if (this.isDash(p)) return this.sequence(col, p);
    if (this.keyEnd(p) !== undefined) return this.mapping(col, p);
    unsupported();
  }

  /** A value after `key:` or `- `, starting at `p` on the current line of a block in column `col`. */
  private value(col: number, p: number, inSequence: boolean): unknown {
    const t = this.text;
    const q = this.afterSpaces(p);
    const c = t.charCodeAt(q);
    if (Number.isNaN(c) || c === NL || (c === HASH && q > p)) {
      // Nothing on this line: a nested block below, or null.
      this.pos = this.nextLine(q);
      const next = this.skipBlank();
      if (next === undefined || (next === this.pos && this.isMarker(this.pos))) return null;
      const indent = next - this.pos;
      if (indent > col) return this.nestedBlock(col, indent, next);
      // A sequence may sit at its key's own indentation.
      if (indent === col && !inSequence && this.isDash(next)) return this.sequence(col, next);
      return null;
    }
    if (inSequence && this.keyEnd(q) !== undefined) return this.mapping(q - this.pos, q);
    let value: unknown;
    if (c === 0x7b || c === 0x5b) value = this.keptFlow(q);
    else if (c === 0x27 || c === 0x22) value = this.quoted(q);
    else {
      if (INDICATOR.has(t.charAt(q)) && !(c === DASH && !this.isDash(q))) unsupported();
      value = this.plain(q);
    }
    this.endLine(this.end);
    // A deeper line after a scalar would continue it (a multi-line scalar): not for this reader.
    const next = this.skipBlank();
    if (next !== undefined && next - this.pos > col && !(next === this.pos && this.isMarker(this.pos))) unsupported();
    return value;
  }

  /**
   * node(indent, first) for a block nested under a key or dash in column
   * `col`, taken from `values` when the same text was read before. Its text
   * runs from the start of its first line to the next line with content
   * indented no deeper than `col` (or the end): where reading it leaves `pos`.
   */
  private nestedBlock(col: number, indent: number, first: number): unknown {
    const t = this.text;
    const start = this.pos;
    let end = -1;
    for (let line = this.nextLine(first); line - start <= VALUE_TEXT_MAX; line = this.nextLine(line)) {
      if (line >= t.length) {
        end = t.length;
        break;
      }
      const q = this.afterSpaces(line);
      const ch = t.charCodeAt(q);
      // Blank and comment lines belong to the block; the first line with content at `col` or less ends it.
      if (q - line <= col && ch !== NL && ch !== HASH && !Number.isNaN(ch)) {
        end = line;
        break;
      }
    }
    if (end < 0 || end - start > VALUE_TEXT_MAX) return this.node(indent, first);
    const key = t.slice(start, end);
    const kept = this.values.get(key);
    if (kept !== undefined) {
      this.pos = end;
      return kept.value;
    }
    const value = this.node(indent, first);
    if (this.pos === end) this.keep(key, value);
    return value;
  }

  /** flow(p), taken from `values` when the same text (to the end of the line) was read before. */
  private keptFlow(p: number): unknown {
    const t = this.text;
    const nl = t.indexOf('\n', p);
    const lineEnd = nl < 0 ? t.length : nl;
    if (lineEnd - p > VALUE_TEXT_MAX) return this.flow(p);
    const key = t.slice(p, lineEnd);
    const kept = this.values.get(key);
    if (kept !== undefined) {
      this.end = p + kept.length;
      return kept.value;
    }
    const value = this.flow(p);
    this.keep(key, value, this.end - p);
    return value;
  }

  private keep(key: string, value: unknown, length = key.length): void {
    if (this.values.size >= VALUES_KEPT) return;
    this.values.set(key, { value, length });
    if (typeof value === 'object' && value !== null) sharedValues.add(value);
  }

  private mapping(col: number, first: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    let p: number | undefined = first;
    while (p !== undefined) {
      const colon = this.keyEnd(p);
      if (colon === undefined) unsupported();
      const key = this.key(p, colon);
      setKey(out, key, this.value(col, colon + 1, false));
      p = this.sameBlock(col);
      if (p !== undefined && this.isDash(p)) break;
    }
    return out;
  }

  private sequence(col: number, first: number): unknown[] {
    const out: unknown[] = [];
    let p: number | undefined = first;
    while (p !== undefined && this.isDash(p)) {
      if (this.isDash(this.afterSpaces(p + 1))) unsupported(); // `- - x`
      out.push(this.value(col, p + 1, true));
      p = this.sameBlock(col);
    }
    return out;
  }

  /** Where the `:` of a `key: ` starting at `p` is, or undefined when the line holds no key there. */
  private keyEnd(p: number): number | undefined {
    const t = this.text;
    let q = p;
    const c = t.charCodeAt(p);
    if (c === 0x27 || c === 0x22) {
      this.quoted(p);
      q = this.end;
    }
    else if (c === 0x7b || c === 0x5b) return undefined;
    // To the end of the line (a newline returns below).
    for (; q < t.length; q++) {
      const ch = t.charCodeAt(q);
      if (ch === NL) return undefined;
      if (ch === HASH && t.charCodeAt(q - 1) === SPACE) return undefined;
      if (ch === COLON) {
        const after = t.charCodeAt(q + 1);
        if (Number.isNaN(after) || after === SPACE || after === NL) return q;
      }
      if (c === 0x27 || c === 0x22) {
        if (ch !== SPACE) return undefined; // only spaces between a quoted key and its colon
      }
    }
    return undefined;
  }

  private key(p: number, colon: number): string {
    const c = this.text.charCodeAt(p);
    if (c === 0x27 || c === 0x22) return this.quoted(p);
    return this.plainKeyAt(p, colon);
  }

  /** A plain scalar to the end of its line or a comment. A `: ` in it is an error in YAML, and not for this reader. */
  private plain(p: number): unknown {
    const t = this.text;
    let q = p;
    let colon = false;
    for (; q < t.length; q++) {
      const ch = t.charCodeAt(q);
      if (ch === NL || (ch === HASH && t.charCodeAt(q - 1) === SPACE)) break;
      if (ch === COLON) colon = true;
    }
    const source = t.slice(p, q).trimEnd();
    if (colon && (source.includes(': ') || source.endsWith(':'))) unsupported();
    this.end = q;
    return typed(source);
  }

  /** A quoted scalar on one line; escapes in double quotes are left to js-yaml. */
  private quoted(p: number): string {
    const t = this.text;
    const quote = t.charAt(p);
    let out = '';
    let from = p + 1;
    for (;;) {
      const close = t.indexOf(quote, from);
      const nl = t.indexOf('\n', from);
      if (close < 0 || (nl >= 0 && nl < close)) unsupported();
      out += t.slice(from, close);
      if (quote === '"') {
        if (out.includes('\\')) unsupported();
        this.end = close + 1;
        return out;
      }
      if (t.charAt(close + 1) !== "'") {
        this.end = close + 1;
        return out;
      }
      out += "'";
      from = close + 2;
    }
  }

  /** A flow mapping or sequence that closes on its line. */
  private flow(p: number): unknown {
    const t = this.text;
    const open = t.charCodeAt(p);
    const close = open === 0x7b ? 0x7d : 0x5d;
    const map: Record<string, unknown> = {};
    const seq: unknown[] = [];
    let q = this.afterSpaces(p + 1);
    if (t.charCodeAt(q) === close) {
      this.end = q + 1;
      return open === 0x7b ? map : seq;
    }
    for (;;) {
      if (open === 0x7b) {
        const key = this.flowScalar(q, true);
        q = this.afterSpaces(this.end);
        if (typeof key !== 'string' || t.charCodeAt(q) !== COLON || t.charCodeAt(q + 1) !== SPACE) unsupported();
        setKey(map, key, this.flowNode(this.afterSpaces(q + 1)));
      } else {
        seq.push(this.flowNode(q));
      }
      q = this.afterSpaces(this.end);
      const c = t.charCodeAt(q);
      if (c === close) {
        this.end = q + 1;
        return open === 0x7b ? map : seq;
      }
      if (c !== 0x2c) unsupported();
      q = this.afterSpaces(q + 1);
      if (t.charCodeAt(q) === close) unsupported(); // a trailing comma
    }
  }

  private flowNode(p: number): unknown {
    const c = this.text.charCodeAt(p);
    if (c === 0x7b || c === 0x5b) return this.flow(p);
    return this.flowScalar(p, false);
  }

  /** A quoted or plain scalar inside a flow collection; a plain one ends at `,`, `]`, `}` or `: `. */
  private flowScalar(p: number, isKey: boolean): unknown {
    const t = this.text;
    const c = t.charCodeAt(p);
    if (c === 0x27 || c === 0x22) return this.quoted(p);
    if (INDICATOR.has(t.charAt(p)) && !(c === DASH && !this.isDash(p) && !isKey)) unsupported();
    let q = p;
    for (; q < t.length; q++) {
      const ch = t.charCodeAt(q);
      if (ch === 0x2c || ch === 0x5d || ch === 0x7d) break;
      if (ch === NL || ch === 0x5b || ch === 0x7b || ch === HASH) unsupported();
      if (ch === COLON) {
        if (isKey && t.charCodeAt(q + 1) === SPACE) break;
        unsupported();
      }
    }
    this.end = q;
    if (isKey) return this.plainKeyAt(p, q);
    const source = t.slice(p, q).trimEnd();
    if (source === '') unsupported();
    return typed(source);
  }
}
