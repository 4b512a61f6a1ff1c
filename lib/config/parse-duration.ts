// Duration strings as Istio and protobuf JSON write them ("500ms", "1.5s",
// "2m", "1h", also Go-style compounds such as "1m30s"), converted to ms.

import { MeshError, MeshErrorCode } from '../protocol';

const UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  'µs': 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

const PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/y;

/** Milliseconds for a duration string, or undefined when it is not one. */
export function durationToMs(text: string): number | undefined {
  const s = text.trim();
  if (s === '0') return 0;
  if (s === '') return undefined;
  let total = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < s.length) {
    const m = PART.exec(s);
    const unitMs = m?.[2] === undefined ? undefined : UNIT_MS[m[2]];
    if (m === null || unitMs === undefined) return undefined;
    total += Number(m[1]) * unitMs;
  }
  return Number.isFinite(total) ? total : undefined;
}

/** The message used whenever a duration cannot be read. */
export function durationHint(text: unknown): string {
  const fix = 'write a number with a unit, such as 500ms, 1s, 1.5s, 2m or 1h';
  if (typeof text === 'string') return `'${text}' is not a duration; ${fix}`;
  return `expected a duration string, got ${typeof text === 'object' ? 'a mapping or list' : `the ${typeof text} ${String(text)}`}; ${fix}`;
}

/** Parses "500ms", "1s", "1.5s", "2m", "1h" into ms; throws a CONFIG MeshError naming `field` otherwise. */
export function parseDuration(text: string, field: string): number {
  const ms = typeof text === 'string' ? durationToMs(text) : undefined;
  if (ms === undefined) throw new MeshError(MeshErrorCode.CONFIG, `${field}: ${durationHint(text)}`, { details: { field } });
  return ms;
}
