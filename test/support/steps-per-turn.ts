// Sliced config work whose slices a test can see: `count` steps that each keep
// the thread busy for `stepMs` of wall time, and report how many of them ran in
// each turn of the event loop (runSliced takes a turn when its slice is used).
import type { Steps } from '../../lib/config/sliced-work';

/** Keeps the thread busy until `ms` have passed. */
export function busyFor(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

/** `count` steps of `stepMs` each; returns how many ran in each turn of the event loop. */
export function* stepsPerTurn(count: number, stepMs: number): Steps<number[]> {
  const perTurn: number[] = [0];
  let marked = false;
  for (let i = 0; i < count; i++) {
    // An immediate queued by the turn's first step runs in the next turn: a new count starts there.
    if (!marked) {
      marked = true;
      setImmediate(() => {
        marked = false;
        perTurn.push(0);
      });
    }
    busyFor(stepMs);
    perTurn[perTurn.length - 1]!++;
    yield;
  }
  return perTurn.filter((n) => n > 0);
}
