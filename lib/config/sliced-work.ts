// Config work in slices. Applying a big config (100k endpoints) takes hundreds
// of milliseconds of CPU on the event loop every call in flight shares. Such
// work is written once, as a generator that yields between units (a resource,
// a cluster); runSliced runs it in slices of a few milliseconds with a turn
// of the event loop between them, and runNow runs it at once (tests, the
// synchronous API). The finished result is swapped in whole, as before.

/** Steps of config work: each `yield` is a point where the loop may take a turn. */
export type Steps<T> = Generator<void, T, void>;

/** Longest slice of config work between two turns of the event loop (issue 22 allows 20 ms; this leaves room for the unit that crosses it). */
export const SLICE_MS = 8;

export function runNow<T>(steps: Steps<T>): T {
  let r = steps.next();
  while (r.done !== true) r = steps.next();
  return r.value;
}

export async function runSliced<T>(steps: Steps<T>, sliceMs = SLICE_MS): Promise<T> {
  let start = performance.now();
  let r = steps.next();
  while (r.done !== true) {
    if (performance.now() - start >= sliceMs) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      start = performance.now();
    }
    r = steps.next();
  }
  return r.value;
}
