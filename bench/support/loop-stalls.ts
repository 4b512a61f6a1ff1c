// LoopStalls: how long the event loop was kept from running a 1 ms timer, as a
// histogram of every gap (max, p99). perf_hooks' monitorEventLoopDelay misses
// long blocks that run inside native stream callbacks (an xDS apply of 500 ms
// read as 32 ms here), so the benchmarks measure the gaps themselves.
// Given the event-loop thread's CPU clock, it also says how much of each gap
// the thread itself ran: on a shared machine a gap can be another process's turn.
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';

export interface StallFigures {
  readonly maxMs: number;
  readonly p99Ms: number;
  /** Gaps longer than 20 ms (issue 22's limit for one slice of config work). */
  readonly over20: number;
  /** The gaps longer than 20 ms, as [start, end, thread CPU ms or NaN] in performance.now() ms (to set beside GC pauses: gc-pauses.ts). */
  readonly longGaps: readonly (readonly [number, number, number])[];
  /** With a CPU clock: the longest gap by the thread's own CPU in it, and how many gaps had over 20 ms of it. */
  readonly cpu?: { readonly maxMs: number; readonly over20: number };
}

export class LoopStalls {
  private readonly histogram: RecordableHistogram = createHistogram();
  private timer: NodeJS.Timeout | undefined;
  private last = 0;
  private lastCpu = 0;
  private over20 = 0;
  private readonly longGaps: [number, number, number][] = [];
  private maxCpuMs = 0;
  private over20Cpu = 0;

  /** @param cpuClock The event-loop thread's CPU time in ms (sliced-work's cpuNow while trackStepCpu is on). */
  constructor(private readonly cpuClock?: () => number | undefined) {}

  start(): this {
    this.last = performance.now();
    this.lastCpu = this.cpuClock?.() ?? 0;
    const tick = (): void => {
      this.gap(performance.now());
      this.timer = setTimeout(tick, 1);
    };
    this.timer = setTimeout(tick, 1);
    return this;
  }

  stop(): StallFigures {
    if (this.timer !== undefined) clearTimeout(this.timer);
    // The gap still open when stopping counts too: the last block may not have ended in a tick.
    this.gap(performance.now());
    return {
      maxMs: this.histogram.max / 1000,
      p99Ms: this.histogram.percentile(99) / 1000,
      over20: this.over20,
      longGaps: this.longGaps,
      ...(this.cpuClock === undefined ? {} : { cpu: { maxMs: this.maxCpuMs, over20: this.over20Cpu } }),
    };
  }

  private gap(now: number): void {
    const late = Math.max(0, now - this.last - 1);
    this.histogram.record(Math.max(1, Math.round(late * 1000)));
    const cpu = this.cpuClock?.();
    let ran = NaN;
    if (cpu !== undefined) {
      ran = Math.max(0, cpu - this.lastCpu - 1);
      this.maxCpuMs = Math.max(this.maxCpuMs, ran);
      if (ran > 20) this.over20Cpu++;
      this.lastCpu = cpu;
    }
    if (late > 20) {
      this.over20++;
      this.longGaps.push([this.last, now, ran]);
    }
    this.last = now;
  }
}
