// Config work in slices. Applying a big config (100k endpoints) takes hundreds
// of milliseconds of CPU on the event loop every call in flight shares. Such
// work is written once, as a generator that yields between units (a resource,
// a cluster); runSliced runs it in slices of a few milliseconds with a turn
// of the event loop between them, and runNow runs it at once (tests, the
// synchronous API). The finished result is swapped in whole, as before.
//
// runSliced also keeps the longest single step it ran (and the longest piece
// of config work outside it that reported itself, such as decoding an xDS
// message): a slice can only be as short as its longest step, so that is the
// figure that says whether the work is cut finely enough (bench/xds-scale).

/** Steps of config work: each `yield` is a point where the loop may take a turn. */
export type Steps<T> = Generator<void, T, void>;

/** Longest slice of config work between two turns of the event loop (issue 22 allows 20 ms; this leaves room for the unit that crosses it). */
export const SLICE_MS = 8;

/** The longest step of config work since the last takeLongestStep(). */
export interface LongestStep {
  readonly ms: number;
  /** What the step was part of (runSliced's label, or noteWork's). */
  readonly label: string;
}

let longest: LongestStep = { ms: 0, label: '' };

/** Records a piece of config work that ran at once (not through runSliced), such as decoding one xDS message. */
export function noteWork(ms: number, label: string): void {
  if (ms > longest.ms) longest = { ms, label };
}

/** The longest step recorded since the last call, then starts again (benchmarks, per phase). */
export function takeLongestStep(): LongestStep {
  const out = longest;
  longest = { ms: 0, label: '' };
  return out;
}

export function runNow<T>(steps: Steps<T>): T {
  let r = steps.next();
  while (r.done !== true) r = steps.next();
  return r.value;
}

export async function runSliced<T>(steps: Steps<T>, sliceMs = SLICE_MS, label = 'config work'): Promise<T> {
  let start = performance.now();
  let r = steps.next();
  let now = performance.now();
  noteWork(now - start, label);
  while (r.done !== true) {
    if (now - start >= sliceMs) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      start = now = performance.now();
    }
    const before = now;
    r = steps.next();
    now = performance.now();
    if (now - before > longest.ms) noteWork(now - before, label);
  }
  return r.value;
}
