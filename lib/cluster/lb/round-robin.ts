// Weighted round robin. Equal weights rotate through the endpoints in O(1);
// unequal weights (or hosts still in slow start) use earliest-deadline-first
// scheduling, which spreads picks smoothly and costs O(log n).
import type { Endpoint } from '../../config/model';
import type { LbOptions, LbRuntime } from './lb-options';
import type { LoadBalancer, PickContext } from './load-balancer';
import { EdfScheduler } from './edf-scheduler';
import { endpointWeights } from './endpoint-weights';
import { SlowStart } from './slow-start';

export class RoundRobin implements LoadBalancer {
  private readonly n: number;
  private readonly weighted: boolean;
  private cursor: number;
  private readonly weights: Float64Array;
  private readonly edf: EdfScheduler | undefined;
  /** One period of the weighted order, precomputed when weights are small integers. */
  private readonly schedule: Int32Array | undefined;
  private readonly slowStart: SlowStart | undefined;
  /** Warming hosts whose first EDF turn has been spent starting their ramp. */
  private readonly rampStarted: Uint8Array;

  constructor(endpoints: readonly Endpoint[], options: LbOptions = {}, runtime: LbRuntime = {}) {
    const n = endpoints.length;
    this.n = n;
    this.cursor = Math.floor((runtime.random ?? Math.random)() * Math.max(1, n)) % Math.max(1, n);
    this.weights = endpointWeights(endpoints);
    this.weighted = !allEqual(this.weights);
    this.slowStart = SlowStart.of(n, options.slowStart, runtime.now ?? performance.now.bind(performance));
    this.edf = this.weighted || this.slowStart !== undefined ? new EdfScheduler(this.weights) : undefined;
    this.schedule = this.weighted ? periodOf(this.weights) : undefined;
    if (this.schedule !== undefined) this.cursor = this.cursor % this.schedule.length;
    this.rampStarted = new Uint8Array(this.slowStart === undefined ? 0 : n);
  }

  pick(context?: PickContext): number {
    const n = this.n;
    if (n === 0) return -1;
    const available = context?.isAvailable;
    const slowStart = this.slowStart;
    const addedAt = context?.addedAt;
    if (!this.weighted && (slowStart === undefined || addedAt === undefined || slowStart.allWarm)) {
      for (let tries = 0; tries < n; tries++) {
        const i = this.cursor;
        this.cursor = i + 1 === n ? 0 : i + 1;
        if (available === undefined || available(i)) return i;
      }
      return -1;
    }
    const schedule = this.schedule;
    if (schedule !== undefined && (slowStart === undefined || addedAt === undefined || slowStart.allWarm)) {
      const length = schedule.length;
      for (let tries = 0; tries < length; tries++) {
        const c = this.cursor;
        this.cursor = c + 1 === length ? 0 : c + 1;
        const i = schedule[c]!;
        if (available === undefined || available(i)) return i;
      }
      return -1;
    }
    const edf = this.edf!;
    // 2n: each warming host may spend one turn starting its ramp.
    for (let tries = 0; tries < 2 * n; tries++) {
      const i = edf.top();
      const f = slowStart === undefined ? 1 : slowStart.factor(i, addedAt);
      edf.reschedule(this.weights[i]! * f);
      if (f < 1 && this.rampStarted[i] === 0) {
        // A host new to this balancer would otherwise take its first turn at full weight.
        this.rampStarted[i] = 1;
        continue;
      }
      if (available === undefined || available(i)) return i;
    }
    return -1;
  }
}

/** Largest precomputed period (entries); heavier weight sums use the EDF heap. */
const MAX_PERIOD = 1 << 18;

/**
 * With integer weights EDF repeats every sum(weights) picks, so one period is
 * computed once and picks walk it in O(1); the order is the one EDF produces.
 */
function periodOf(weights: Float64Array): Int32Array | undefined {
  let total = 0;
  for (const w of weights) {
    if (!Number.isInteger(w)) return undefined;
    total += w;
  }
  if (total > MAX_PERIOD) return undefined;
  const edf = new EdfScheduler(weights);
  const period = new Int32Array(total);
  for (let k = 0; k < total; k++) {
    const i = edf.top();
    edf.reschedule(weights[i]!);
    period[k] = i;
  }
  return period;
}

/** Whether every weight is the first (a loop: `some` with a closure cost a call per endpoint while balancers are built). */
function allEqual(weights: Float64Array): boolean {
  const first = weights[0];
  for (let i = 1; i < weights.length; i++) if (weights[i] !== first) return false;
  return true;
}
