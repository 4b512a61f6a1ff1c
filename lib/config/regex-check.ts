// Checks a MetaRouter regex before it reaches the route table. The reference
// runs Google RE2 (Aeraki sets engine google_re2), so a pattern must mean the
// same in RE2 and in JavaScript: lookaround and backreferences are refused.

/** Why `pattern` cannot be used, or undefined when it can. */
export function regexCheck(pattern: string): string | undefined {
  const unsupported = nonRe2Construct(pattern);
  if (unsupported !== undefined) {
    return `regex '${pattern}' uses ${unsupported}, which RE2 (the regex engine of Envoy and Aeraki) does not support; rewrite it without lookaround or backreferences`;
  }
  // RE2 allows leading inline flags such as (?i); the route table lifts them into RegExp flags.
  const lead = /^\(\?([ims]+)\)/.exec(pattern);
  const body = lead === null ? pattern : pattern.slice(lead[0].length);
  const flags = lead === null ? '' : [...new Set(lead[1])].join('');
  try {
    new RegExp(`^(?:${body})$`, flags);
    return undefined;
  } catch (err) {
    return `regex '${pattern}' does not compile: ${(err as Error).message}; use syntax that RE2 and JavaScript share`;
  }
}

function nonRe2Construct(p: string): string | undefined {
  let inClass = false;
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === '\\') {
      const n = p[i + 1];
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
