// The value of an indexed read a test relies on (an array element, a record
// entry), or a failed assertion naming what was missing: with
// noUncheckedIndexedAccess such reads are `T | undefined`.
import assert from 'node:assert/strict';

export function defined<T>(value: T | undefined, what = 'the value'): T {
  assert.ok(value !== undefined, `expected ${what}, found none`);
  return value;
}
