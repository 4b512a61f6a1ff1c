// Runs many calls with a bounded number in flight. A test that counts where
// calls land (a weighted split, a mirror share) needs every call answered; a
// thousand calls started at once on a busy CPU make each wait behind all the
// others, long enough to hit a deadline that has nothing to do with the test.
// A few dozen in flight keep the same calls, the same order of arrival and
// the same counts, and each call waits only for its own round trip.

/** Calls `call(i)` for i in [0, n), at most `inFlight` at a time; results in index order. */
export async function callsInFlight<T>(n: number, inFlight: number, call: (i: number) => Promise<T>): Promise<T[]> {
  const results = new Array<T>(n);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      const i = next++;
      results[i] = await call(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, n) }, worker));
  return results;
}
