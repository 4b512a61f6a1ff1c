// Earliest-deadline-first scheduling over endpoint indices: each pick takes the
// endpoint whose next turn is soonest and pushes its turn back by 1/weight, so
// weighted picks come out smoothly interleaved at O(log n) each. The weight is
// given at each reschedule, which is how slow start and least request change it.

export class EdfScheduler {
  private readonly deadline: Float64Array;
  private readonly heap: Int32Array;

  /** `weights[i]` sets endpoint i's first turn at 1/weight. */
  constructor(weights: ArrayLike<number>) {
    const n = weights.length;
    this.deadline = new Float64Array(n);
    this.heap = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      this.deadline[i] = 1 / Math.max(1e-9, weights[i]!);
      this.heap[i] = i;
    }
    for (let i = (n >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  /** The endpoint whose turn is next (the heap must not be empty). */
  top(): number {
    return this.heap[0]!;
  }

  /** Moves the top endpoint's next turn `1/weight` later. */
  reschedule(weight: number): void {
    const i = this.heap[0]!;
    this.deadline[i] = this.deadline[i]! + 1 / (weight > 1e-9 ? weight : 1e-9);
    this.siftDown(0);
  }

  private siftDown(pos: number): void {
    const heap = this.heap;
    const deadline = this.deadline;
    const n = heap.length;
    const item = heap[pos]!;
    const d = deadline[item]!;
    for (;;) {
      let child = 2 * pos + 1;
      if (child >= n) break;
      let c = heap[child]!;
      let dc = deadline[c]!;
      if (child + 1 < n) {
        const r = heap[child + 1]!;
        const dr = deadline[r]!;
        if (dr < dc || (dr === dc && r < c)) {
          child++;
          c = r;
          dc = dr;
        }
      }
      // Ties go to the lower index so the order is deterministic.
      if (dc > d || (dc === d && c > item)) break;
      heap[pos] = c;
      pos = child;
    }
    heap[pos] = item;
  }
}
