// What happened inside a client worker during its measured window, beyond
// its calls: main-thread GC pauses, CPU of its other threads (V8's GC and
// compiler helpers, libuv) and how often the kernel preempted it. The client
// is pinned to one core, so helper threads run by taking that core from the
// main thread; with the GC pauses this is where a tail of a few ms can come
// from inside the client.
import { PerformanceObserver } from 'node:perf_hooks';
import { threadRunNs } from './proc-stats';

export interface ClientWindowStats {
  /** Main-thread GC pauses over the window. */
  readonly gcCount: number;
  readonly gcTotalMs: number;
  readonly gcMaxMs: number;
  /** CPU time of every thread but the main one over the window (ms). */
  readonly helperCpuMs: number;
  /** Times the kernel took the CPU from one of this process's threads over the window. */
  readonly involuntarySwitches: number;
}

/** Run time of each of this process's threads but the main one, in ns by tid (a thread that ended is left out). */
function helperThreadsNs(): Map<string, number> {
  const byTid = threadRunNs('self')?.byTid ?? new Map<string, number>();
  byTid.delete(String(process.pid));
  return byTid;
}

/** Starts watching; the returned function stops and reports. */
export function watchClientWindow(): () => ClientWindowStats {
  const pauses: number[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) pauses.push(entry.duration);
  });
  observer.observe({ entryTypes: ['gc'] });
  const helpers0 = helperThreadsNs();
  const switches0 = process.resourceUsage().involuntaryContextSwitches;
  return () => {
    // Entries still buffered arrive with takeRecords before disconnecting.
    for (const entry of observer.takeRecords()) pauses.push(entry.duration);
    observer.disconnect();
    let helperNs = 0;
    for (const [tid, ns] of helperThreadsNs()) helperNs += ns - (helpers0.get(tid) ?? 0);
    return {
      gcCount: pauses.length,
      gcTotalMs: pauses.reduce((a, b) => a + b, 0),
      gcMaxMs: pauses.reduce((a, b) => Math.max(a, b), 0),
      helperCpuMs: helperNs / 1e6,
      involuntarySwitches: process.resourceUsage().involuntaryContextSwitches - switches0,
    };
  };
}
