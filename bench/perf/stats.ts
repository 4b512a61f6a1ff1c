// Small statistics helpers for the perf harness: percentiles of one run's
// latencies, and the median and spread (min..max) of a metric over rounds.

/** The p-quantile (0..1) of an ascending array, nearest-rank. */
export function quantile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil(p * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))]!;
}

export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly n: number;
}

/** Median and min..max of the finite values; NaN fields when there are none. */
export function spread(values: readonly number[]): Spread {
  const s = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (s.length === 0) return { median: NaN, min: NaN, max: NaN, n: 0 };
  const mid = s.length >> 1;
  const median = s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { median, min: s[0]!, max: s[s.length - 1]!, n: s.length };
}

/** Formats a number with a fixed count of significant-looking decimals for tables. */
export function fmt(value: number, decimals = 0): string {
  if (!Number.isFinite(value)) return 'n/a';
  return value.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}

/** "median (min..max)" for a table cell. */
export function fmtSpread(s: Spread, decimals = 0): string {
  if (s.n === 0) return 'n/a';
  if (s.n === 1) return fmt(s.median, decimals);
  return `${fmt(s.median, decimals)} (${fmt(s.min, decimals)}..${fmt(s.max, decimals)})`;
}
