// Every regex that comes from config (MetaRouter and rate-limit attribute
// matchers in YAML, safe_regex in xDS routes) is compiled here, by RE2JS: a
// JavaScript port of RE2, the engine Envoy and Aeraki run. Patterns mean what
// they mean in the sidecar, and matching takes time linear in the input, so a
// header a peer sends can never stall the event loop (V8's backtracking
// RegExp took 18 s on `(a+)+$` against 32 a's and a '!'). A pattern RE2
// refuses, or one whose compiled program is larger than Envoy's
// max_program_size (default 100), is a config error with the reason.
import type { RE2JS } from 're2js';

/** Envoy's default RE2 max_program_size (runtime key re2.max_program_size.error_level). */
export const DEFAULT_REGEX_MAX_PROGRAM_SIZE = 100;

/** Environment variable that sets the limit for the process, as Envoy's runtime key does for a proxy. */
export const REGEX_MAX_PROGRAM_SIZE_ENV = 'META_MESH_REGEX_MAX_PROGRAM_SIZE';

let maxProgramSize: number | undefined;

let re2: typeof RE2JS | undefined;

/** RE2JS, loaded on the first regex (most configs have none; the parse thread of a large config starts sooner without it). */
function re2js(): typeof RE2JS {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use
  re2 ??= (require('re2js') as typeof import('re2js')).RE2JS;
  return re2;
}

/** The program-size limit in force: set by setRegexMaxProgramSize, else the environment, else 100. */
export function regexMaxProgramSize(): number {
  if (maxProgramSize === undefined) {
    const env = process.env[REGEX_MAX_PROGRAM_SIZE_ENV];
    const n = env === undefined || env === '' ? DEFAULT_REGEX_MAX_PROGRAM_SIZE : Number(env);
    maxProgramSize = Number.isSafeInteger(n) && n > 0 ? n : DEFAULT_REGEX_MAX_PROGRAM_SIZE;
  }
  return maxProgramSize;
}

/**
 * Sets the largest RE2 program a config regex may compile to, for the whole
 * process (Envoy's max_program_size). Config already loaded keeps its patterns.
 */
export function setRegexMaxProgramSize(size: number): void {
  if (!Number.isSafeInteger(size) || size <= 0) {
    throw new RangeError(`regex max program size must be a whole number above 0, not ${size}`);
  }
  maxProgramSize = size;
}

/** A compiled config regex: a full-match test in time linear in the input. */
export interface Re2Regex {
  readonly pattern: string;
  readonly programSize: number;
  /** True when the whole of `input` matches (Envoy's safe_regex is a full match). */
  fullMatch(input: string): boolean;
}

/** Compiles `pattern` as RE2 does, or says why it cannot be used. */
export function compileRe2(pattern: string): { regex: Re2Regex; problem?: undefined } | { regex?: undefined; problem: string } {
  const unsupported = nonRe2Construct(pattern);
  if (unsupported !== undefined) {
    return {
      problem: `regex '${pattern}' uses ${unsupported}, which RE2 (the regex engine of Envoy and Aeraki) does not support; rewrite it without lookaround or backreferences`,
    };
  }
  let re: RE2JS;
  try {
    re = re2js().compile(pattern);
  } catch (err) {
    return { problem: `regex '${pattern}' does not compile in RE2 (the regex engine of Envoy and Aeraki): ${re2Reason(err)}; write it in RE2 syntax` };
  }
  const size = re.programSize();
  const limit = regexMaxProgramSize();
  if (size > limit) {
    return {
      problem: `regex '${pattern}' compiles to an RE2 program of size ${size}, above the limit of ${limit} (Envoy's max_program_size); simplify it (e.g. fewer counted repetitions) or raise the limit (${REGEX_MAX_PROGRAM_SIZE_ENV} or setRegexMaxProgramSize)`,
    };
  }
  return { regex: Object.freeze({ pattern, programSize: size, fullMatch: (input: string) => re.testExact(input) }) };
}

/** Why `pattern` cannot be used, or undefined when it can. */
export function regexCheck(pattern: string): string | undefined {
  return compileRe2(pattern).problem;
}

function re2Reason(err: unknown): string {
  return (err as Error).message.replace(/^error parsing regexp: /, '');
}

/** Names the first lookaround or backreference in `p` (clearer than RE2's own message), or undefined. */
function nonRe2Construct(p: string): string | undefined {
  let inClass = false;
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === '\\') {
      const n = p[i + 1] ?? ''; // a trailing backslash has nothing after it
      if (!inClass && n >= '1' && n <= '9') return `a backreference (\\${n})`;
      if (!inClass && n === 'k' && p[i + 2] === '<') return 'a named backreference (\\k<...>)';
      i++;
    } else if (inClass) {
      if (c === ']') inClass = false;
    } else if (c === '[') {
      inClass = true;
      // ']' first in a class (after an optional '^') is a literal.
      if (p[i + 1] === '^') i++;
      if (p[i + 1] === ']') i++;
    } else if (c === '(' && p[i + 1] === '?') {
      const a = p[i + 2];
      if (a === '=' || a === '!') return `a lookahead (?${a}`;
      if (a === '<' && (p[i + 3] === '=' || p[i + 3] === '!')) return `a lookbehind (?<${p[i + 3]}`;
    }
  }
  return undefined;
}
