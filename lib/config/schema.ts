// A small schema language for the upstream CRDs and the checker that applies
// it: unknown fields (with a did-you-mean), wrong types, ranges and enums
// become problems; fields meta-mesh accepts but does not enforce become
// warnings. The checker returns a cleaned copy holding only valid values
// (durations already in ms), so the translators after it can trust types and
// one bad field does not cascade into unrelated problems.

import { didYouMean } from './did-you-mean';
import { FieldPath, ManifestDocument } from './manifest-document';
import { durationHint, durationToMs } from './parse-duration';

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
 * Checks `value` against `schema`, reporting to `doc`. Returns the cleaned
 * value, or undefined when it is absent or unusable. Arrays keep their length
 * (an unusable item becomes undefined) so indexes in later messages stay true.
 */
export function checkSchema(value: unknown, schema: Schema, path: FieldPath, doc: ManifestDocument, quiet = false): unknown {
  if (value === undefined) return undefined;
  if (value === null) return schema.nullable === true ? null : undefined;
  switch (schema.type) {
    case 'any':
      return value;
    case 'string':
      if (typeof value !== 'string') return wrong(doc, path, 'a string', value);
      if (schema.nonEmpty === true && value === '') {
        doc.problem(path, 'must not be empty');
        return undefined;
      }
      if (schema.enum !== undefined && !schema.enum.includes(value)) {
        const guess = didYouMean(value, schema.enum);
        const hint = guess === undefined ? '' : `; did you mean '${guess}'?`;
        doc.problem(path, `'${value}' is not allowed${hint} allowed: ${schema.enum.join(', ')}`);
        return undefined;
      }
      return value;
    case 'integer':
    case 'number':
      return checkNumber(value, schema, path, doc);
    case 'boolean':
      return typeof value === 'boolean' ? value : wrong(doc, path, 'true or false', value);
    case 'integerOrString':
      if (typeof value === 'string' || (typeof value === 'number' && Number.isInteger(value))) return String(value);
      return wrong(doc, path, 'a string or an integer', value);
    case 'duration': {
      const ms = typeof value === 'string' ? durationToMs(value) : undefined;
      if (ms === undefined) doc.problem(path, durationHint(value));
      return ms;
    }
    case 'array': {
      if (!Array.isArray(value)) return wrong(doc, path, 'a list', value);
      return value.map((item, i) => checkSchema(item, schema.items, [...path, i], doc, quiet));
    }
    case 'map': {
      if (!isPlainObject(value)) return wrong(doc, path, 'a mapping', value);
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) {
        if (v === null && schema.values.nullable !== true) {
          doc.problem([...path, k], 'has no value; give it one or remove the key');
          continue;
        }
        const checked = checkSchema(v, schema.values, [...path, k], doc, quiet);
        if (checked !== undefined) setOwn(out, k, checked);
      }
      return out;
    }
    case 'object':
      return checkObject(value, schema, path, doc, quiet);
  }
}

function checkObject(
  value: unknown,
  schema: Extract<Schema, { type: 'object' }>,
  path: FieldPath,
  doc: ManifestDocument,
  quiet: boolean,
): Record<string, unknown> | undefined {
  if (!isPlainObject(value)) return wrong(doc, path, 'a mapping', value);
  const allowed = Object.keys(schema.fields);
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    const field = Object.hasOwn(schema.fields, key) ? schema.fields[key] : undefined;
    if (field === undefined) {
      const guess = didYouMean(key, allowed);
      const hint = guess === undefined ? '' : ` did you mean '${guess}'?`;
      doc.problem([...path, key], `unknown field '${key}';${hint} allowed: ${allowed.join(', ')}`);
      continue;
    }
    if (v !== null && field.notEnforced !== undefined && !quiet) {
      const note = field.notEnforced === '' ? '' : ` (${field.notEnforced})`;
      doc.warn([...path, key], `'${key}' is accepted but not enforced yet${note}`);
    }
    const checked = checkSchema(v, field, [...path, key], doc, quiet || field.notEnforced !== undefined);
    if (checked !== undefined) out[key] = checked;
  }
  for (const [key, field] of Object.entries(schema.fields)) {
    if (field.required === true && (value[key] === undefined || value[key] === null)) {
      doc.problem([...path, key], `missing required field '${key}'`);
    }
  }
  for (const group of schema.oneOf ?? []) {
    const set = group.filter((k) => value[k] !== undefined);
    if (set.length > 1) doc.problem(path, `sets ${set.map((k) => `'${k}'`).join(' and ')}; set only one of ${group.join(', ')}`);
  }
  return out;
}

function checkNumber(
  value: unknown,
  schema: Extract<Schema, { type: 'integer' | 'number' }>,
  path: FieldPath,
  doc: ManifestDocument,
): number | undefined {
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
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
