// YoungKept: what the young-generation collections (scavenges) of a window
// kept alive, copied within the young generation or promoted to the old one,
// read from v8.GCProfiler's heap statistics before and after each. A
// scavenge's pause grows with those bytes, and unlike the pause they do not
// depend on how busy the machine is: the figure to compare when a change cuts
// long-lived objects built during an update.
import * as v8 from 'node:v8';

export interface YoungKept {
  /** Scavenges in the window. */
  readonly count: number;
  /** Bytes all of them kept (survived + promoted). */
  readonly totalBytes: number;
  /** Bytes the one that kept the most kept. */
  readonly maxBytes: number;
}

type SpaceSizes = readonly { spaceName?: string; spaceUsedSize?: number; space_name?: string; space_used_size?: number }[];

/** A space's used bytes. GCProfiler names the fields in camelCase (spaceName, spaceUsedSize), though @types/node gives them getHeapSpaceStatistics's snake_case. */
function used(spaces: readonly object[], name: string): number {
  for (const s of spaces as SpaceSizes) if ((s.spaceName ?? s.space_name) === name) return s.spaceUsedSize ?? s.space_used_size ?? 0;
  return 0;
}

export class YoungKeptProbe {
  private readonly profiler = new v8.GCProfiler();

  start(): this {
    this.profiler.start();
    return this;
  }

  stop(): YoungKept {
    let count = 0;
    let totalBytes = 0;
    let maxBytes = 0;
    for (const s of this.profiler.stop().statistics) {
      if (s.gcType !== 'Scavenge') continue;
      const before = s.beforeGC.heapSpaceStatistics;
      const after = s.afterGC.heapSpaceStatistics;
      // Survivors stay in new space; promoted ones (large objects too) are what the old spaces grew by.
      const kept =
        used(after, 'new_space') +
        Math.max(0, used(after, 'old_space') - used(before, 'old_space')) +
        Math.max(0, used(after, 'large_object_space') - used(before, 'large_object_space'));
      count++;
      totalBytes += kept;
      maxBytes = Math.max(maxBytes, kept);
    }
    return { count, totalBytes, maxBytes };
  }
}

/** `n scavenges kept X MB, the most in one Y MB`, for a benchmark's line. */
export function youngKept(k: YoungKept): string {
  const mb = (b: number) => (b / 1024 / 1024).toFixed(1);
  return `${k.count} scavenges kept ${mb(k.totalBytes)} MB (survived + promoted), the most in one ${mb(k.maxBytes)} MB`;
}
