// Access-log format strings with Envoy's command operators, as Istio's
// MeshConfig `accessLogFormat` / `accessLogEncoding` give them: a TEXT line
// (`[%START_TIME%] %REQ(X-REQUEST-ID)% ...`) or a JSON object whose values
// are format strings. Compiled once per config into a list of parts; a line
// is then a loop over them, with no parsing per call.
import { MeshError, MeshErrorCode } from '../protocol/mesh-error';
import type { AccessLogEntry } from './access-log-entry';
import { compileOperator, type OperatorGetter, type OperatorValue } from './access-log-operators';

export type AccessLogEncoding = 'TEXT' | 'JSON';

/** Aeraki's default TEXT format: what the built-in 'text' format writes. */
export const AERAKI_TEXT_FORMAT =
  '[%START_TIME%] %REQ(X-META-PROTOCOL-APPLICATION-PROTOCOL)% %RESPONSE_CODE% %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% ' +
  '"%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% %BYTES_SENT% %DURATION% "%REQ(X-FORWARDED-FOR)%" "%REQ(X-REQUEST-ID)%" ' +
  '%UPSTREAM_CLUSTER% %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% %ROUTE_NAME%\n';

/** Aeraki's default JSON keys: what the built-in 'json' format writes. */
export const AERAKI_JSON_FORMAT: Readonly<Record<string, string>> = Object.freeze({
  start_time: '%START_TIME%',
  route_name: '%ROUTE_NAME%',
  application_protocol: '%REQ(X-META-PROTOCOL-APPLICATION-PROTOCOL)%',
  response_code: '%RESPONSE_CODE%',
  response_code_details: '%RESPONSE_CODE_DETAILS%',
  connection_termination_details: '%CONNECTION_TERMINATION_DETAILS%',
  bytes_received: '%BYTES_RECEIVED%',
  bytes_sent: '%BYTES_SENT%',
  duration: '%DURATION%',
  request_id: '%REQ(X-REQUEST-ID)%',
  upstream_cluster: '%UPSTREAM_CLUSTER%',
  upstream_local_address: '%UPSTREAM_LOCAL_ADDRESS%',
  downstream_local_address: '%DOWNSTREAM_LOCAL_ADDRESS%',
  downstream_remote_address: '%DOWNSTREAM_REMOTE_ADDRESS%',
  upstream_transport_failure_reason: '%UPSTREAM_TRANSPORT_FAILURE_REASON%',
});

type Part = string | { readonly get: OperatorGetter; readonly maxLength: number | undefined; readonly quoted: boolean; readonly raw: boolean };

// %NAME%, %NAME(arg)%, %NAME(arg):maxlen%; the argument may hold anything but ')' followed by '%' or ':'.
const OPERATOR = /%([A-Z][A-Z0-9_]*)(?:\((.*?)\))?(?::(\d+))?%/g;

/**
 * Compiles an Envoy format string into its parts. Text before an operator
 * stays literal; a `%` that starts no operator is kept as written.
 */
function parse(format: string, context: string): Part[] {
  const parts: Part[] = [];
  let last = 0;
  for (const m of format.matchAll(OPERATOR)) {
    const literal = format.slice(last, m.index);
    if (literal !== '') parts.push(literal);
    let get: OperatorGetter;
    try {
      get = compileOperator(m[1]!, m[2]);
    } catch (err) {
      throw err instanceof MeshError ? new MeshError(MeshErrorCode.CONFIG, `${err.message} (in ${context})`) : err;
    }
    const maxLength = m[3] === undefined ? undefined : Number(m[3]);
    // Inside double quotes a value is escaped as a JSON string body; bare, whitespace would shift every later field.
    // START_TIME's text is the operator's own format, never a peer's: written as is.
    parts.push({ get, maxLength, quoted: literal.endsWith('"'), raw: m[1] === 'START_TIME' });
    last = m.index + m[0].length;
  }
  if (last < format.length) parts.push(format.slice(last));
  return parts;
}

/** A TEXT format string → a line formatter (the line always ends in a newline). */
export function compileTextFormat(format: string): (e: AccessLogEntry) => string {
  if (typeof format !== 'string' || format === '') throw new MeshError(MeshErrorCode.CONFIG, 'accessLogFormat must be a non-empty string');
  const parts = parse(format, 'accessLogFormat');
  const withNewline = format.endsWith('\n');
  return (e) => {
    let line = '';
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (typeof p === 'string') {
        line += p;
        continue;
      }
      const text = asText(p.get(e), p.maxLength);
      line += p.raw ? text : p.quoted ? quoted(text) : token(text);
    }
    return withNewline ? line : line + '\n';
  };
}

type JsonTemplate = { readonly key: string; readonly value: JsonValue };
type JsonValue = { kind: 'literal'; json: string } | { kind: 'typed'; part: Exclude<Part, string> } | { kind: 'string'; parts: Part[] } | { kind: 'object'; fields: JsonTemplate[] };

/**
 * A JSON format (an object of key → format string, nested objects allowed,
 * as Envoy's json_format; or that object as a JSON string, as Istio's
 * accessLogFormat holds it) → a line formatter. A value that is exactly one
 * operator keeps its type (numbers stay numbers, missing is null), as Envoy
 * writes typed JSON.
 */
export function compileJsonFormat(format: string | Readonly<Record<string, unknown>>): (e: AccessLogEntry) => string {
  let object: unknown = format;
  if (typeof format === 'string') {
    try {
      object = JSON.parse(format);
    } catch (err) {
      throw new MeshError(MeshErrorCode.CONFIG, `accessLogFormat with accessLogEncoding JSON must be a JSON object of key → format string: ${(err as Error).message}`);
    }
  }
  const fields = jsonFields(object, 'accessLogFormat');
  return (e) => `${renderObject(fields, e)}\n`;
}

function jsonFields(object: unknown, path: string): JsonTemplate[] {
  if (object === null || typeof object !== 'object' || Array.isArray(object)) {
    throw new MeshError(MeshErrorCode.CONFIG, `${path} must be a JSON object of key → format string`);
  }
  return Object.entries(object as Record<string, unknown>).map(([key, v]) => ({ key: JSON.stringify(key), value: jsonValue(v, `${path}.${key}`) }));
}

function jsonValue(v: unknown, path: string): JsonValue {
  if (typeof v === 'string') {
    const parts = parse(v, path);
    if (parts.length === 1 && typeof parts[0] !== 'string') return { kind: 'typed', part: parts[0]! };
    return { kind: 'string', parts };
  }
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return { kind: 'literal', json: JSON.stringify(v) };
  if (typeof v === 'object' && !Array.isArray(v)) return { kind: 'object', fields: jsonFields(v, path) };
  throw new MeshError(MeshErrorCode.CONFIG, `${path}: a value must be a format string, a number, a boolean, null or an object`);
}

function renderObject(fields: JsonTemplate[], e: AccessLogEntry): string {
  let out = '{';
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i]!;
    if (i > 0) out += ',';
    out += `${f.key}:${renderValue(f.value, e)}`;
  }
  return out + '}';
}

function renderValue(v: JsonValue, e: AccessLogEntry): string {
  switch (v.kind) {
    case 'literal':
      return v.json;
    case 'object':
      return renderObject(v.fields, e);
    case 'typed': {
      const value = v.part.get(e);
      if (value === undefined) return 'null';
      if (typeof value === 'number' && v.part.maxLength === undefined) return String(value);
      return JSON.stringify(asText(value, v.part.maxLength));
    }
    case 'string': {
      let s = '';
      for (const p of v.parts) s += typeof p === 'string' ? p : asText(p.get(e), p.maxLength);
      return JSON.stringify(s);
    }
  }
}

function asText(value: OperatorValue, maxLength: number | undefined): string {
  const text = value === undefined || value === '' ? '-' : typeof value === 'number' ? String(value) : value;
  return maxLength === undefined || text.length <= maxLength ? text : text.slice(0, maxLength);
}

/** A bare field; whitespace would shift every later field, so it becomes "_". */
function token(text: string): string {
  return /\s/.test(text) ? text.replace(/\s/g, '_') : text;
}

/** A quoted field; quotes, backslashes and line breaks (caller-controlled text) are escaped. */
function quoted(text: string): string {
  return /["\\\r\n\u0000-\u001f]/.test(text) ? JSON.stringify(text).slice(1, -1) : text;
}
