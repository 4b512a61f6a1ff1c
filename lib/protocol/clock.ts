// The clock the engine reads: milliseconds from a monotonic source
// (performance.now() by default), injectable so tests can move time by hand.
export type MonotonicClock = () => number;

export const monotonicClock: MonotonicClock = () => performance.now();
