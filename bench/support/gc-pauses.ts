// GcPauses: the collector's pauses on this thread (perf_hooks 'gc' entries),
// set beside the long event-loop gaps LoopStalls saw, so a benchmark can say
// what a gap was: a young-generation collection (scavenge), a full one
// (mark-compact), or neither (config work, or the OS running another process).
import { constants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';

export interface GapCauses {
  /** Gaps whose longest GC pause inside them was a scavenge. */
  readonly scavenge: number;
  /** … a mark-compact (its final atomic pause) or an incremental marking step. */
  readonly markCompact: number;
  /** Gaps with no GC pause inside them. */
  readonly none: number;
  /** Longest GC pause inside any of the gaps, ms. */
  readonly maxPauseMs: number;
}

export class GcPauses {
  private readonly entries: PerformanceEntry[] = [];
  private readonly observer = new PerformanceObserver((list) => this.entries.push(...list.getEntries()));

  start(): this {
    this.observer.observe({ entryTypes: ['gc'] });
    return this;
  }

  stop(): void {
    this.entries.push(...this.observer.takeRecords());
    this.observer.disconnect();
  }

  /** What each gap held (entries are delivered late: call after stop()). */
  causes(gaps: readonly (readonly [number, number, ...number[]])[]): GapCauses {
    let scavenge = 0;
    let markCompact = 0;
    let none = 0;
    let maxPauseMs = 0;
    for (const [start, end] of gaps) {
      let longest: PerformanceEntry | undefined;
      for (const e of this.entries) {
        if (e.startTime + e.duration < start || e.startTime > end) continue;
        if (longest === undefined || e.duration > longest.duration) longest = e;
      }
      if (longest === undefined) {
        none++;
        continue;
      }
      maxPauseMs = Math.max(maxPauseMs, longest.duration);
      if ((longest as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) scavenge++;
      else markCompact++;
    }
    return { scavenge, markCompact, none, maxPauseMs };
  }

  /** The longest pause of each kind in the whole window, as `kind ms, ...` (call after stop()). */
  longest(): string {
    const by = new Map<string, number>();
    for (const e of this.entries) {
      const kind = kindName(e);
      by.set(kind, Math.max(by.get(kind) ?? 0, e.duration));
    }
    return [...by].map(([kind, ms]) => `${kind} ${ms.toFixed(1)} ms`).join(', ') || 'none';
  }

  /** Each GC pause inside [start, end], as `kind ms` (XDS_SCALE_VERBOSE). */
  inside(start: number, end: number): string {
    return this.entries
      .filter((e) => e.startTime + e.duration >= start && e.startTime <= end)
      .map((e) => `${kindName(e)} ${e.duration.toFixed(1)} ms`)
      .join(', ');
  }
}

const KINDS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'scavenge',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'mark-compact',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak callbacks',
};

function kindName(e: PerformanceEntry): string {
  return KINDS[(e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind ?? 0] ?? 'gc';
}

/** A gap count's causes in words, for a benchmark's line. */
export function gapCauses(c: GapCauses): string {
  if (c.scavenge + c.markCompact + c.none === 0) return 'none';
  return `with a GC pause in them: ${c.scavenge} scavenge, ${c.markCompact} mark-compact, ${c.none} none; longest pause in them ${c.maxPauseMs.toFixed(1)} ms`;
}
