// LoopStalls: how long the event loop was kept from running a 1 ms timer, as a
// histogram of every gap (max, p99). perf_hooks' monitorEventLoopDelay misses
// long blocks that run inside native stream callbacks (an xDS apply of 500 ms
// read as 32 ms here), so the benchmarks measure the gaps themselves.
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';

export interface StallFigures {
  readonly maxMs: number;
  readonly p99Ms: number;
  /** Gaps longer than 20 ms (issue 22's limit for one slice of config work). */
  readonly over20: number;
}

export class LoopStalls {
  private readonly histogram: RecordableHistogram = createHistogram();
  private timer: NodeJS.Timeout | undefined;
  private last = 0;
  private over20 = 0;

  start(): this {
    this.last = performance.now();
    const tick = (): void => {
      const now = performance.now();
      const late = Math.max(0, now - this.last - 1);
      this.histogram.record(Math.max(1, Math.round(late * 1000)));
      if (late > 20) this.over20++;
      this.last = now;
      this.timer = setTimeout(tick, 1);
    };
    this.timer = setTimeout(tick, 1);
    return this;
  }

  stop(): StallFigures {
    if (this.timer !== undefined) clearTimeout(this.timer);
    // The gap still open when stopping counts too: the last block may not have ended in a tick.
    const late = Math.max(0, performance.now() - this.last - 1);
    this.histogram.record(Math.max(1, Math.round(late * 1000)));
    if (late > 20) this.over20++;
    return { maxMs: this.histogram.max / 1000, p99Ms: this.histogram.percentile(99) / 1000, over20: this.over20 };
  }
}
