// Suggests the closest known name for a misspelt one, so a config problem can
// say "did you mean 'weight'?" instead of leaving the user to diff field lists.

/** The candidate closest to `word` by edit distance, or undefined when none is close. */
export function didYouMean(word: string, candidates: Iterable<string>): string | undefined {
  const w = word.toLowerCase();
  // About one edit per three characters catches typos, not unrelated names;
  // in names of three characters or fewer (v1, v2) only a change of case counts.
  const limit = w.length <= 3 ? 0 : Math.min(3, Math.max(1, Math.floor(w.length / 3)));
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const c of candidates) {
    const d = editDistance(w, c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

/** Levenshtein distance, with a swap of two neighbours counted as one edit. */
function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  // d(i, j): the distance between the first i characters of a and the first j of b, kept
  // row after row in one array; a cell is read only after it is written (an earlier row, or
  // an earlier column of this row).
  const width = b.length + 1;
  const cells = new Array<number>((a.length + 1) * width);
  const d = (i: number, j: number): number => cells[i * width + j]!;
  for (let i = 0; i <= a.length; i++) {
    for (let j = 0; j <= b.length; j++) {
      let v = i + j; // one of them is 0: insert or delete the other's characters
      if (i > 0 && j > 0) {
        const cost = a[i - 1] === b[j - 1] ? 0 : 1;
        v = Math.min(d(i - 1, j) + 1, d(i, j - 1) + 1, d(i - 1, j - 1) + cost);
        if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d(i - 2, j - 2) + 1);
      }
      cells[i * width + j] = v;
    }
  }
  return d(a.length, b.length);
}
