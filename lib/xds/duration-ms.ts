// google.protobuf.Duration (seconds as a decimal string, nanos) → milliseconds, and back.
import type { DurationProto } from './envoy-types';

export function durationMs(d: DurationProto): number {
  return Number(d.seconds ?? 0) * 1000 + Math.round((d.nanos ?? 0) / 1e6);
}

export function durationOf(ms: number): DurationProto {
  const seconds = Math.floor(ms / 1000);
  return { seconds: String(seconds), nanos: Math.round((ms - seconds * 1000) * 1e6) };
}
