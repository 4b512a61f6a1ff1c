// google.protobuf.Duration (seconds as a decimal string, nanos) → milliseconds, and back.
import type { DurationProto } from './envoy-types';

export function durationMs(d: DurationProto): number {
  return Number(d.seconds ?? 0) * 1000 + Math.round((d.nanos ?? 0) / 1e6);
}

export function durationOf(ms: number): DurationProto {
  const seconds = Math.floor(ms / 1000);
  return { seconds: String(seconds), nanos: Math.round((ms - seconds * 1000) * 1e6) };
}

/** google.protobuf.Duration's own limits: ±10,000 years, nanos below one second and of the seconds' sign. */
const MAX_SECONDS = 315_576_000_000;

/**
 * Why `d` is not a valid Duration for a field (Envoy's `duration = {gt {}}`
 * when `positive`, else `gte 0`), or undefined when it is.
 */
export function durationProblem(d: DurationProto, positive: boolean): string | undefined {
  const seconds = Number(d.seconds ?? 0);
  const nanos = d.nanos ?? 0;
  const text = `${d.seconds ?? 0}s ${nanos}ns`;
  if (!Number.isFinite(seconds) || Math.abs(seconds) > MAX_SECONDS || Math.abs(nanos) > 999_999_999 || (seconds > 0 && nanos < 0) || (seconds < 0 && nanos > 0)) {
    return `is not a valid duration (${text})`;
  }
  if (seconds < 0 || nanos < 0) return `is negative (${text}); a duration here must be ${positive ? 'above' : 'at least'} 0`;
  if (positive && seconds === 0 && nanos === 0) return 'is 0; set a duration above 0';
  return undefined;
}
