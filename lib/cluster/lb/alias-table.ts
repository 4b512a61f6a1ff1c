// Vose's alias method: after an O(n) build, one uniform draw picks index i with
// probability weight[i] / total in O(1). Shared by RANDOM and weighted LEAST_REQUEST.

export interface AliasTable {
  /** Column i keeps i with probability keep[i], else gives alias[i]. */
  readonly keep: Float64Array;
  readonly alias: Int32Array;
}

/** The alias table for `weights` (each > 0). Draw with r = random() * n: i = r | 0, then r - i < keep[i] ? i : alias[i]. */
export function aliasTable(weights: Float64Array): AliasTable {
  const n = weights.length;
  const keep = new Float64Array(n);
  const alias = new Int32Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) total += weights[i]!; // i < n
  // A loop, not Float64Array.from(weights, fn): that allocates young garbage per element (see endpoint-weights.ts).
  const scaled = new Float64Array(n);
  for (let i = 0; i < n; i++) scaled[i] = (weights[i]! * n) / total;
  const small: number[] = [];
  const large: number[] = [];
  for (let i = 0; i < n; i++) (scaled[i]! < 1 ? small : large).push(i);
  while (small.length > 0 && large.length > 0) {
    const s = small.pop()!;
    const l = large[large.length - 1]!;
    keep[s] = scaled[s]!;
    alias[s] = l;
    scaled[l] = scaled[l]! + scaled[s]! - 1;
    if (scaled[l]! < 1) {
      large.pop();
      small.push(l);
    }
  }
  // What is left is 1 up to rounding.
  for (const i of large) (keep[i] = 1), (alias[i] = i);
  for (const i of small) (keep[i] = 1), (alias[i] = i);
  return { keep, alias };
}
