// Weighted round robin. Equal weights rotate through the endpoints; unequal
// weights use earliest-deadline-first scheduling (each endpoint's next turn
// advances by 1/weight), which spreads picks smoothly and costs O(log n).
import type { Endpoint } from '../../config/model';
import type { LoadBalancer, PickContext } from './load-balancer';

export class RoundRobin implements LoadBalancer {
  private readonly n: number;
  private readonly weighted: boolean;
  private cursor: number;
  // EDF state for the weighted case: a binary heap of endpoint indices ordered by deadline.
  private readonly step: Float64Array;
  private readonly deadline: Float64Array;
  private readonly heap: Int32Array;

  constructor(endpoints: readonly Endpoint[], start = Math.floor(Math.random() * Math.max(1, endpoints.length))) {
    this.n = endpoints.length;
    this.cursor = start;
    const first = endpoints[0]?.weight ?? 1;
    this.weighted = endpoints.some((e) => e.weight !== first);
    this.step = new Float64Array(this.n);
    this.deadline = new Float64Array(this.n);
    this.heap = new Int32Array(this.n);
    if (this.weighted) {
      for (let i = 0; i < this.n; i++) {
        this.step[i] = 1 / Math.max(1, endpoints[i]!.weight);
        this.deadline[i] = this.step[i]!;
        this.heap[i] = i;
      }
      for (let i = (this.n >> 1) - 1; i >= 0; i--) this.siftDown(i);
    }
  }

  pick(context?: PickContext): number {
    const n = this.n;
    if (n === 0) return -1;
    const available = context?.isAvailable;
    if (!this.weighted) {
      for (let tries = 0; tries < n; tries++) {
        const i = this.cursor;
        this.cursor = i + 1 === n ? 0 : i + 1;
        if (available === undefined || available(i)) return i;
      }
      return -1;
    }
    for (let tries = 0; tries < n; tries++) {
      const i = this.heap[0]!;
      this.deadline[i] = this.deadline[i]! + this.step[i]!;
      this.siftDown(0);
      if (available === undefined || available(i)) return i;
    }
    return -1;
  }

  private siftDown(pos: number): void {
    const heap = this.heap;
    const deadline = this.deadline;
    const n = this.n;
    const item = heap[pos]!;
    for (;;) {
      let child = 2 * pos + 1;
      if (child >= n) break;
      if (child + 1 < n && less(deadline, heap[child + 1]!, heap[child]!)) child++;
      if (!less(deadline, heap[child]!, item)) break;
      heap[pos] = heap[child]!;
      pos = child;
    }
    heap[pos] = item;
  }
}

/** Orders by deadline, then by index so ties are deterministic. */
function less(deadline: Float64Array, a: number, b: number): boolean {
  const da = deadline[a]!;
  const db = deadline[b]!;
  return da < db || (da === db && a < b);
}
