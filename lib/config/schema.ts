// A small schema language for the upstream CRDs and the checker that applies
// it: unknown fields (with a did-you-mean), wrong types, ranges and enums
// become problems; fields meta-mesh accepts but does not enforce become
// warnings. The checker returns a cleaned copy holding only valid values
// (durations already in ms), so the translators after it can trust types and
// one bad field does not cascade into unrelated problems.

import { didYouMean } from './did-you-mean';
import { FieldPath, ManifestDocument } from './manifest-document';
import { durationHint, durationToMs } from './parse-duration';
import { isSharedValue } from './manifest-yaml-reader';

interface SchemaFlags {
  /** Reported as missing when absent. */
  readonly required?: boolean;
  /** An explicit `null` is kept (a MetaRouter attribute with no matcher means "present"). */
  readonly nullable?: boolean;
  /** Upstream field meta-mesh accepts but does not enforce yet; the text is added to the warning. */
  readonly notEnforced?: string;
}

export type Schema = SchemaFlags &
  (
    | { readonly type: 'string'; readonly enum?: readonly string[]; readonly nonEmpty?: boolean }
    | { readonly type: 'integer' | 'number'; readonly min?: number; readonly max?: number }
    | { readonly type: 'boolean' | 'duration' | 'integerOrString' | 'any' }
    | {
        readonly type: 'object';
        readonly fields: Readonly<Record<string, Schema>>;
        /** Groups of fields of which at most one may be set (protobuf oneof). */
        readonly oneOf?: readonly (readonly string[])[];
      }
    | { readonly type: 'array'; readonly items: Schema }
    | { readonly type: 'map'; readonly values: Schema }
  );

/**
 * Where a value sits, built as the checker walks down: the container's place
 * and the key or index below it. The field path (an array) is only made when
 * a problem or warning names it; a 100k-endpoint file has millions of fields
 * and almost never a problem.
 */
type At = FieldPath | Step;

class Step {
  constructor(
    readonly up: At,
    readonly key: string | number,
  ) {}
}

/** The field path of `key` under `up` (of `up` itself when key is undefined). */
function pathOf(up: At, key: string | number | undefined): FieldPath {
  const keys: (string | number)[] = key === undefined ? [] : [key];
  let at = up;
  while (at instanceof Step) {
    keys.push(at.key);
    at = at.up;
  }
  return [...at, ...keys.reverse()];
}

function below(up: At, key: string | number | undefined): At {
  return key === undefined ? up : new Step(up, key);
}

/** An object schema's field names, and those required, worked out once per schema. */
interface ObjectFields {
  readonly allowed: readonly string[];
  readonly required: readonly string[];
}

const objectFields = new WeakMap<object, ObjectFields>();

function fieldsOf(schema: Extract<Schema, { type: 'object' }>): ObjectFields {
  let known = objectFields.get(schema);
  if (known === undefined) {
    const allowed = Object.keys(schema.fields);
    known = { allowed, required: allowed.filter((k) => schema.fields[k]?.required === true) };
    objectFields.set(schema, known);
  }
  return known;
}

/**
 * Checks `value` against `schema`, reporting to `doc`. Returns the cleaned
 * value, or undefined when it is absent or unusable. Arrays keep their length
 * (an unusable item becomes undefined) so indexes in later messages stay true.
 */
export function checkSchema(value: unknown, schema: Schema, path: FieldPath, doc: ManifestDocument, quiet = false, owned = false): unknown {
  return check(value, schema, path, undefined, doc, quiet, owned);
}

/**
 * checkSchema of the value at `key` under `up`. With `owned` (the value was
 * just parsed from text and nothing else holds it), a list or mapping whose
 * every entry checks to itself is returned as it is instead of copied: in a
 * 100k-endpoint file nearly all are, and copies were most of what the parse
 * thread allocated and its collector then moved.
 */
function check(value: unknown, schema: Schema, up: At, key: string | number | undefined, doc: ManifestDocument, quiet: boolean, owned: boolean): unknown {
  if (value === undefined) return undefined;
  if (value === null) return schema.nullable === true ? null : undefined;
  if (owned && typeof value === 'object' && isSharedValue(value)) return checkShared(value, schema, up, key, doc, quiet);
  return checkValue(value, schema, up, key, doc, quiet, owned);
}

/**
 * Schemas a value the reader shares between several places (manifest-yaml-reader.ts) checked clean against: no
 * problem, no warning, and itself as the cleaned value. The check is a function of the value and the schema, so it
 * is clean at every other place too (quiet or not), and is not done again there.
 */
const cleanAgainst = new WeakMap<object, Schema[]>();

function checkShared(value: object, schema: Schema, up: At, key: string | number | undefined, doc: ManifestDocument, quiet: boolean): unknown {
  const clean = cleanAgainst.get(value);
  if (clean?.includes(schema) === true) return value;
  const reports = doc.reports;
  const checked = checkValue(value, schema, up, key, doc, quiet, true);
  // Quiet, a check leaves out warnings a loud one would give: only a loud one says the value is clean.
  if (checked === value && doc.reports === reports && !quiet) {
    if (clean === undefined) cleanAgainst.set(value, [schema]);
    else clean.push(schema);
  }
  return checked;
}

function checkValue(value: unknown, schema: Schema, up: At, key: string | number | undefined, doc: ManifestDocument, quiet: boolean, owned: boolean): unknown {
  switch (schema.type) {
    case 'any':
      return value;
    case 'string':
      if (typeof value !== 'string') return wrong(doc, pathOf(up, key), 'a string', value);
      if (schema.nonEmpty === true && value === '') {
        doc.problem(pathOf(up, key), 'must not be empty');
        return undefined;
      }
      if (schema.enum !== undefined && !schema.enum.includes(value)) {
        const guess = didYouMean(value, schema.enum);
        const hint = guess === undefined ? '' : `; did you mean '${guess}'?`;
        doc.problem(pathOf(up, key), `'${value}' is not allowed${hint} allowed: ${schema.enum.join(', ')}`);
        return undefined;
      }
      return value;
    case 'integer':
    case 'number':
      return checkNumber(value, schema, up, key, doc);
    case 'boolean':
      return typeof value === 'boolean' ? value : wrong(doc, pathOf(up, key), 'true or false', value);
    case 'integerOrString':
      if (typeof value === 'string' || (typeof value === 'number' && Number.isInteger(value))) return String(value);
      return wrong(doc, pathOf(up, key), 'a string or an integer', value);
    case 'duration': {
      const ms = typeof value === 'string' ? durationToMs(value) : undefined;
      if (ms === undefined) doc.problem(pathOf(up, key), durationHint(value));
      return ms;
    }
    case 'array': {
      if (!Array.isArray(value)) return wrong(doc, pathOf(up, key), 'a list', value);
      const here = below(up, key);
      let out: unknown[] | undefined = owned ? undefined : new Array<unknown>(value.length);
      for (let i = 0; i < value.length; i++) {
        const v: unknown = value[i];
        const checked = check(v, schema.items, here, i, doc, quiet, owned);
        if (out === undefined) {
          if (checked === v) continue;
          out = value.slice(0, i);
        }
        out[i] = checked;
      }
      return out ?? value;
    }
    case 'map': {
      if (!isPlainObject(value)) return wrong(doc, pathOf(up, key), 'a mapping', value);
      const here = below(up, key);
      const keys = Object.keys(value);
      let out: Record<string, unknown> | undefined = reusable(value, owned) ? undefined : {};
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i]!; // i < keys.length
        const v = value[k];
        if (v === null && schema.values.nullable !== true) {
          doc.problem(pathOf(here, k), 'has no value; give it one or remove the key');
          out ??= copied(value, keys, i);
          continue;
        }
        const checked = check(v, schema.values, here, k, doc, quiet, owned);
        if (out === undefined) {
          if (checked === v && checked !== undefined) continue;
          out = copied(value, keys, i);
        }
        if (checked !== undefined) setOwn(out, k, checked);
      }
      return out ?? value;
    }
    case 'object':
      return checkObject(value, schema, up, key, doc, quiet, owned);
  }
}

function checkObject(
  value: unknown,
  schema: Extract<Schema, { type: 'object' }>,
  up: At,
  at: string | number | undefined,
  doc: ManifestDocument,
  quiet: boolean,
  owned: boolean,
): Record<string, unknown> | undefined {
  if (!isPlainObject(value)) return wrong(doc, pathOf(up, at), 'a mapping', value);
  const here = below(up, at);
  const { allowed, required } = fieldsOf(schema);
  const keys = Object.keys(value);
  let out: Record<string, unknown> | undefined = reusable(value, owned) ? undefined : {};
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!; // i < keys.length
    const v = value[key];
    const field = Object.hasOwn(schema.fields, key) ? schema.fields[key] : undefined;
    if (field === undefined) {
      const guess = didYouMean(key, allowed);
      const hint = guess === undefined ? '' : ` did you mean '${guess}'?`;
      doc.problem(pathOf(here, key), `unknown field '${key}';${hint} allowed: ${allowed.join(', ')}`);
      out ??= copied(value, keys, i);
      continue;
    }
    if (v !== null && field.notEnforced !== undefined && !quiet) {
      const note = field.notEnforced === '' ? '' : ` (${field.notEnforced})`;
      doc.warn(pathOf(here, key), `'${key}' is accepted but not enforced yet${note}`);
    }
    const checked = check(v, field, here, key, doc, quiet || field.notEnforced !== undefined, owned);
    if (out === undefined) {
      if (checked === v && checked !== undefined) continue;
      out = copied(value, keys, i);
    }
    // A schema field is never "__proto__" (its Object.hasOwn lookup above found it among the declared fields).
    if (checked !== undefined) out[key] = checked;
  }
  out ??= value;
  for (const key of required) {
    if (value[key] === undefined || value[key] === null) doc.problem(pathOf(here, key), `missing required field '${key}'`);
  }
  for (const group of schema.oneOf ?? []) {
    const set = group.filter((k) => value[k] !== undefined);
    if (set.length > 1) doc.problem(pathOf(up, at), `sets ${set.map((k) => `'${k}'`).join(' and ')}; set only one of ${group.join(', ')}`);
  }
  return out;
}

function checkNumber(
  value: unknown,
  schema: Extract<Schema, { type: 'integer' | 'number' }>,
  up: At,
  key: string | number | undefined,
  doc: ManifestDocument,
): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) {
    const { min, max } = schema;
    // The common case first: a number in range needs no message.
    if ((schema.type !== 'integer' || Number.isInteger(value)) && (min === undefined || value >= min) && (max === undefined || value <= max)) return value;
  }
  const path = pathOf(up, key);
  const integer = schema.type === 'integer';
  const want = integer ? 'an integer' : 'a number';
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) {
    doc.problem(path, `expected ${want}, got the string '${value}'; remove the quotes`);
    return undefined;
  }
  if (typeof value !== 'number' || !Number.isFinite(value)) return wrong(doc, path, want, value);
  if (integer && !Number.isInteger(value)) {
    doc.problem(path, `expected an integer, got ${value}; use a whole number`);
    return undefined;
  }
  const { min, max } = schema;
  if ((min !== undefined && value < min) || (max !== undefined && value > max)) {
    const range = max === undefined ? `at least ${min}` : min === undefined ? `at most ${max}` : `between ${min} and ${max}`;
    doc.problem(path, `must be ${range}, got ${value}`);
    return undefined;
  }
  return value;
}

function wrong(doc: ManifestDocument, path: FieldPath, want: string, value: unknown): undefined {
  doc.problem(path, `expected ${want}, got ${describe(value)}`);
  return undefined;
}

/** Whether a mapping may be returned as it is when nothing in it changes: a plain object the caller gave up (`owned`). */
function reusable(value: object, owned: boolean): boolean {
  return owned && Object.getPrototypeOf(value) === Object.prototype;
}

/** A copy of the first `n` entries of `value` (entries that checked to themselves). */
function copied(value: Record<string, unknown>, keys: readonly string[], n: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) {
    const k = keys[i]!; // i < n <= keys.length
    setOwn(out, k, value[k]);
  }
  return out;
}

/** How a YAML value reads in a message. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `the string '${value}'`;
  return `the ${typeof value} ${String(value)}`;
}

/** Sets a key even when it is "__proto__", which plain assignment would turn into a prototype change. */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key !== '__proto__') {
    target[key] = value;
    return;
  }
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
