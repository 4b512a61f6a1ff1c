// The same update, applied again and again while a call stream runs, each
// time beside a window of the stream without an update just before it. One
// update's window holds a few hundred to a few thousand calls, and the p99 of
// one window without an update moved between 1 and 5 ms from window to window
// on this 2-core machine: a single pair of windows cannot tell an update's
// cost from noise. Pooled over several rounds, the calls during the updates
// and the calls just before them give two p99s that can be set side by side,
// and each round's pair shows the spread.
import { createHistogram } from 'node:perf_hooks';
import type { CallStream, CallWindow } from './call-stream';

export interface RepeatedUpdates {
  /** Each update's time to apply, in ms. */
  readonly ms: readonly number[];
  /** Each round's windows: during the update, and without one just before it. */
  readonly during: readonly CallWindow[];
  readonly before: readonly CallWindow[];
  /** p99 (ms) of all calls made during the updates, and of all calls in the windows before them. */
  readonly pooledDuringP99Ms: number;
  readonly pooledBeforeP99Ms: number;
}

/**
 * Runs `rounds` rounds of: `prepare` (outside both windows), a window of
 * `baselineMs` without an update, then `update(round)` (resolving once
 * applied) in a window of its own.
 */
export async function repeatUpdates(
  stream: CallStream,
  rounds: number,
  baselineMs: number,
  update: (round: number) => Promise<void>,
  prepare?: () => Promise<void>,
): Promise<RepeatedUpdates> {
  const pooledDuring = createHistogram();
  const pooledBefore = createHistogram();
  const ms: number[] = [];
  const during: CallWindow[] = [];
  const before: CallWindow[] = [];
  for (let round = 0; round < rounds; round++) {
    await prepare?.();
    before.push(await stream.window(() => new Promise((r) => setTimeout(r, baselineMs)), pooledBefore));
    during.push(
      await stream.window(async () => {
        const t0 = performance.now();
        await update(round);
        ms.push(performance.now() - t0);
      }, pooledDuring),
    );
  }
  return { ms, during, before, pooledDuringP99Ms: pooledDuring.percentile(99) / 1000, pooledBeforeP99Ms: pooledBefore.percentile(99) / 1000 };
}

/** One line: the updates' times, the pooled p99s and their ratio, each round's pair. */
export function describeRepeated(what: string, r: RepeatedUpdates): string {
  const f = (x: number) => x.toFixed(1);
  const sorted = [...r.ms].sort((a, b) => a - b);
  const calls = (ws: readonly CallWindow[]) => ws.reduce((n, w) => n + w.calls, 0);
  return (
    `${r.ms.length} ${what}: applied in ${f(sorted[0] ?? 0)}-${f(sorted[sorted.length - 1] ?? 0)} ms; ` +
    `calls' p99 during them ${f(r.pooledDuringP99Ms)} ms (${calls(r.during)} calls) against ${f(r.pooledBeforeP99Ms)} ms just before them (${calls(r.before)} calls), ` +
    `${f(r.pooledDuringP99Ms / r.pooledBeforeP99Ms)}x; each round, during / before: ${r.during.map((w, i) => `${f(w.p99Ms)}/${f(r.before[i]?.p99Ms ?? 0)}`).join(' ')}`
  );
}
