// The two load shapes the perf harness drives, both bounded by time so a run
// has a known length whatever the scenario's speed:
// - closed loop: `concurrency` callers each send the next call when the last
//   one answers (measures throughput; latency there hides queueing);
// - open loop: calls are due at a fixed rate whatever happened before, and each
//   latency is measured from the call's INTENDED send time, so a stall in the
//   client or the path is charged to every call it delayed (no coordinated
//   omission).
import { quantile } from './stats';

export type Caller = () => Promise<unknown>;

export interface ShapeResult {
  readonly calls: number;
  readonly errors: number;
  readonly seconds: number;
  readonly callsPerSecond: number;
  /** Latency percentiles in microseconds. */
  readonly p50Us: number;
  readonly p90Us: number;
  readonly p99Us: number;
  readonly p999Us: number;
  readonly maxUs: number;
  /** Open loop only: how far behind schedule the sender fell at worst (ms). */
  readonly maxSendLagMs?: number;
  /** Open loop only: every latency in whole µs, so rounds can be pooled into one distribution. */
  readonly samplesUs?: number[];
  /**
   * Open loop only: of the calls at or above the run's p99, the share of
   * their summed latency spent before they were sent (the client's own loop
   * was late); the rest passed between the send and the answer.
   */
  readonly tailSendLagShare?: number;
}

/** Growable latency store: a typed array avoids boxing millions of numbers. */
class Samples {
  private data = new Float64Array(1 << 16);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Float64Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
  values(): Float64Array {
    return this.data.subarray(0, this.length);
  }
}

/** Percentiles and rate of a run from its latencies (ms, any order; not modified). */
function summarize(latenciesMs: Float64Array, errors: number, seconds: number, maxSendLagMs?: number): ShapeResult {
  const s = latenciesMs.slice().sort();
  const keep = maxSendLagMs !== undefined;
  const us = (ms: number) => ms * 1000;
  return {
    calls: s.length,
    errors,
    seconds,
    callsPerSecond: s.length / seconds,
    p50Us: us(quantile(s, 0.5)),
    p90Us: us(quantile(s, 0.9)),
    p99Us: us(quantile(s, 0.99)),
    p999Us: us(quantile(s, 0.999)),
    maxUs: us(s.length === 0 ? NaN : s[s.length - 1]!),
    ...(keep ? { maxSendLagMs, samplesUs: Array.from(s, (ms) => Math.round(ms * 1000)) } : {}),
  };
}

/** Closed loop for `durationMs`; calls in flight at the deadline are awaited and counted. */
export async function closedLoop(call: Caller, concurrency: number, durationMs: number): Promise<ShapeResult> {
  const samples = new Samples();
  let errors = 0;
  const t0 = performance.now();
  const deadline = t0 + durationMs;
  let last = t0;
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const start = performance.now();
      try {
        await call();
        last = performance.now();
        samples.push(last - start);
      } catch {
        errors++;
        last = performance.now();
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return summarize(samples.values(), errors, (last - t0) / 1000);
}

/** Of the calls whose latency is at least `thresholdMs`, the share of their summed latency that was send lag. */
export function tailSendLagShare(latencyMs: ArrayLike<number>, lagMs: ArrayLike<number>, thresholdMs: number): number {
  let lagSum = 0;
  let latencySum = 0;
  for (let i = 0; i < latencyMs.length; i++) {
    const l = latencyMs[i]!;
    if (!(l >= thresholdMs)) continue;
    lagSum += lagMs[i]!;
    latencySum += l;
  }
  return latencySum > 0 ? lagSum / latencySum : NaN;
}

/**
 * How the open loop keeps its schedule: Node's timers fire a
 * millisecond or more late, and that lag, charged to every call, drowned the
 * tens of microseconds under study; so within 2 ms of the next due call the
 * sender polls with setImmediate (I/O is still served on every turn of the
 * loop). The client has a core of its own, so the polling costs the path
 * nothing, but it makes open-loop client CPU meaningless: compare CPU in the
 * closed loop.
 */
const POLL_WITHIN_MS = 2;

export interface OpenLoopOptions {
  /** Calls are due at the rate for this long first, unmeasured, in the same loop (default 0). */
  readonly warmupMs?: number;
  /** Called once, synchronously, just before the first measured call is sent. */
  readonly onWindowStart?: () => void;
  /** Called once, synchronously, `nearMs` before the window (within the warm-up), for work that must not land in it. */
  readonly onWindowNear?: () => void;
  /** Default 300 ms. */
  readonly nearMs?: number;
  /** How long calls still in flight after the last send are awaited (default 10 s). */
  readonly drainMs?: number;
}

/**
 * Open loop at `ratePerSecond`: `warmupMs` unmeasured, then `durationMs`
 * measured, in ONE schedule. Restarting the loop after a separate warm-up
 * made V8 recompile the sender and Node's immediate queue during the first
 * second of the window, tens of ms of compiler work on the client's one core
 * that landed in every scenario's tail.
 */
export function openLoop(call: Caller, ratePerSecond: number, durationMs: number, options: OpenLoopOptions = {}): Promise<ShapeResult> {
  const { warmupMs = 0, onWindowStart, onWindowNear, nearMs = 300, drainMs = 10_000 } = options;
  const interval = 1000 / ratePerSecond;
  const first = Math.round((ratePerSecond * warmupMs) / 1000);
  const near = Math.max(0, first - Math.round((ratePerSecond * nearMs) / 1000));
  const measured = Math.max(1, Math.round((ratePerSecond * durationMs) / 1000));
  const total = first + measured;
  let errors = 0;
  let sent = 0;
  let settled = 0;
  let maxLag = 0;
  let last = 0;
  // Per measured call, by send order (ms): how late it was sent, and its latency (NaN: failed or unanswered).
  const lag = new Float64Array(measured);
  const latency = new Float64Array(measured).fill(NaN);
  return new Promise((resolve) => {
    const t0 = performance.now();
    const windowStart = t0 + first * interval;
    let drainTimer: NodeJS.Timeout | undefined;
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      if (drainTimer !== undefined) clearTimeout(drainTimer);
      // Measured calls still unanswered after the drain window count as errors.
      errors += Math.max(0, sent - first) - settled;
      const answered = latency.filter((ms) => !Number.isNaN(ms));
      const result = summarize(answered, errors, ((last || performance.now()) - windowStart) / 1000, maxLag);
      resolve({ ...result, tailSendLagShare: tailSendLagShare(latency, lag, result.p99Us / 1000) });
    };
    const onSettled = (index: number, intended: number, ok: boolean): void => {
      last = performance.now();
      if (ok) latency[index] = last - intended;
      else errors++;
      settled++;
      if (settled === measured) finish();
    };
    const tick = (): void => {
      const now = performance.now();
      while (sent < total) {
        const intended = t0 + sent * interval;
        if (intended > now) break;
        const n = sent++;
        if (n === near) onWindowNear?.();
        if (n < first) {
          call().catch(() => undefined);
          continue;
        }
        if (n === first) onWindowStart?.();
        const index = n - first;
        lag[index] = now - intended;
        maxLag = Math.max(maxLag, lag[index]!);
        call().then(
          () => onSettled(index, intended, true),
          () => onSettled(index, intended, false),
        );
      }
      if (sent < total) {
        const wait = t0 + sent * interval - performance.now();
        if (wait > POLL_WITHIN_MS) setTimeout(tick, wait - POLL_WITHIN_MS);
        else setImmediate(tick);
      } else {
        drainTimer = setTimeout(finish, drainMs);
      }
    };
    tick();
  });
}
