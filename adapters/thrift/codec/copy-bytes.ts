// copyBytes: Buffer#copy for the few dozen bytes most Thrift messages are.
// Buffer#copy sets up a typed-array view per call, which costs more than
// moving a small message byte by byte; past a few cache lines it wins again.
const LOOP_MAX_BYTES = 64;

/** Copies `src[start, end)` into `dst` at `at`; returns the bytes copied. The caller keeps both ranges in bounds. */
export function copyBytes(src: Buffer, start: number, end: number, dst: Buffer, at: number): number {
  const n = end - start;
  if (n > LOOP_MAX_BYTES) return src.copy(dst, at, start, end);
  for (let i = 0; i < n; i++) dst[at + i] = src[start + i]!;
  return n;
}
