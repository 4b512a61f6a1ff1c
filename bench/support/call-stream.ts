// A steady stream of calls through a mesh (a few loops, each one call in
// flight), whose latencies are recorded only inside a window: the benchmarks
// compare the p99 of the calls made while config is applied with the p99 of
// the same stream without an update, in one run. A window counts the calls
// that start inside it, each to its end: a call held up by the bench's own work
// just before the window (writing an 8 MB file) is not the update's.
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';

export interface CallWindow {
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly calls: number;
}

export class CallStream {
  private readonly histogram = createHistogram();
  /** Where the window's calls are also recorded, pooled across windows (repeated-updates.ts). */
  private pooled: RecordableHistogram | undefined;
  private running = true;
  private readonly loops: Promise<void>[] = [];
  private recording = false;
  private calls = 0;
  /** The call each loop has in flight, if it started inside the window. */
  private readonly counted = new Set<Promise<unknown>>();

  constructor(
    private readonly call: () => Promise<unknown>,
    private readonly concurrency = 4,
  ) {}

  start(): void {
    for (let i = 0; i < this.concurrency; i++) {
      this.loops.push(
        (async () => {
          while (this.running) {
            const t0 = performance.now();
            const call = this.call();
            if (!this.recording) {
              await call;
              continue;
            }
            this.counted.add(call);
            try {
              await call;
            } finally {
              this.counted.delete(call);
            }
            const us = Math.max(1, Math.round((performance.now() - t0) * 1000));
            this.histogram.record(us);
            this.pooled?.record(us);
            this.calls++;
          }
        })(),
      );
    }
  }

  /** p99 and max in ms of the calls made while `during` ran; each call's latency (µs) also goes into `pooled` when given. */
  async window(during: () => Promise<void>, pooled?: RecordableHistogram): Promise<CallWindow> {
    this.histogram.reset();
    this.calls = 0;
    this.pooled = pooled;
    this.recording = true;
    await during();
    this.recording = false;
    await Promise.allSettled([...this.counted]);
    this.pooled = undefined;
    return { p99Ms: this.histogram.percentile(99) / 1000, maxMs: this.histogram.max / 1000, calls: this.calls };
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }
}
