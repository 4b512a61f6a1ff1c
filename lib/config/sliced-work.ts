// Config work in slices. Applying a big config (100k endpoints) takes hundreds
// of milliseconds of CPU on the event loop every call in flight shares. Such
// work is written once, as a generator that yields between units (a resource,
// a cluster); runSliced runs it in slices of a few milliseconds with a turn
// of the event loop between them, and runNow runs it at once (tests, the
// synchronous API). The finished result is swapped in whole, as before.
//
// runSliced also keeps the longest single step it ran (and the longest piece
// of config work outside it that reported itself, such as decoding an xDS
// message): a slice can only be as short as its longest step, so that is the
// figure that says whether the work is cut finely enough (bench/xds-scale).
import * as fs from 'node:fs';

/** Steps of config work: each `yield` is a point where the loop may take a turn. */
export type Steps<T> = Generator<void, T, void>;

/**
 * Longest slice of config work between two turns of the event loop (issue 22
 * allows 20 ms). A young collection that falls inside a slice adds its pause
 * to it, and a call that arrives during a slice waits for it. Side by side at
 * 100k endpoints (2026-12-08), 1 ms against 4 ms: a YAML reload's longest gap
 * 9.9-12.7 ms against 10.8-16.7 ms and calls' p99 5.6-7.1 ms against
 * 6.3-9.3 ms (with two parts in flight, parse-worker.ts); an xDS one-endpoint
 * EDS change's calls' p99 3.5 ms against 6.3 ms. The work takes a turn more
 * per millisecond: the 100k-endpoint xDS sync 750 ms against 627 ms.
 */
export const SLICE_MS = 1;

/**
 * The slice while calls are in flight (some watchLoopDemand probe says so).
 * A call whose reply arrives during a slice waits for its end, and during a
 * large update every turn of the loop has one: the calls' latency grows by
 * about a slice or two, whatever the update's size. Side by side (xds-scale,
 * 100k endpoints, calls' p99 pooled over six 10k-route updates, three runs
 * each): 4.0-5.4 ms against 5.8-6.7 ms with 1 ms slices (0.9-1.3 ms without
 * an update). Short slices for all work cost a turn of the loop per 0.25 ms:
 * the initial xDS sync, which no call waits on, took 0.9-1.0 s against
 * 0.5-0.6 s, so work that no call waits on keeps SLICE_MS.
 */
export const BUSY_SLICE_MS = 0.25;

/** The longest step of config work since the last takeLongestStep(). */
export interface LongestStep {
  readonly ms: number;
  /** What the step was part of (runSliced's label, or noteWork's). */
  readonly label: string;
  /** The longest step by CPU time of the event-loop thread, while trackStepCpu is on. */
  readonly cpu?: { readonly ms: number; readonly label: string };
}

const NONE = { ms: 0, label: '' };
let longest: { ms: number; label: string } = NONE;
let longestCpu: { ms: number; label: string } = NONE;
let cpuTracking = false;

/**
 * Also times each step's CPU on the event-loop thread: a system call per
 * step, for benchmarks on a shared machine, where a step's wall time
 * includes time the OS gave to other processes and its CPU time does not.
 */
export function trackStepCpu(on: boolean): void {
  cpuTracking = on;
  if (on) cpuClock ??= threadCpuClock();
}

/**
 * When config work began in this turn of the event loop, shared by every
 * runSliced and noteWork: work chained through promises (an xDS message's
 * decode, its apply, the follow-up, the snapshot, the mesh state, the census)
 * runs on in one turn as each awaits the last, so a slice's budget is the
 * turn's, not each call's. Cleared by an immediate queued when it is set,
 * which runs before any yield queued after it.
 */
let turnStart: number | undefined;
/** Whether calls were in flight when this turn's config work began: asked once per turn. */
let turnCallsInFlight = false;
const endTurn = (): void => {
  turnStart = undefined;
};

function turnBegan(at: number): number {
  if (turnStart === undefined) {
    turnStart = at;
    turnCallsInFlight = callsInFlight();
    setImmediate(endTurn);
  }
  return turnStart;
}

/** The slice of this turn: `sliceMs`, or `busySliceMs` when shorter and calls are in flight. */
function turnSlice(sliceMs: number, busySliceMs: number): number {
  return turnCallsInFlight && busySliceMs < sliceMs ? busySliceMs : sliceMs;
}

/** Probes that say whether calls are in flight (each Mesh registers its own). */
const demands = new Set<() => boolean>();

function callsInFlight(): boolean {
  for (const busy of demands) if (busy()) return true;
  return false;
}

/**
 * Registers `busy`, asked once per turn of config work: while it returns
 * true, runSliced uses its shorter slice (`busySliceMs`, BUSY_SLICE_MS unless
 * the caller says otherwise). Returns the function that unregisters it. The
 * event loop is the process's, so one mesh's calls shorten every mesh's
 * config work.
 */
export function watchLoopDemand(busy: () => boolean): () => void {
  // A probe of its own: the same function registered twice stays registered until both are unregistered.
  const probe = (): boolean => busy();
  demands.add(probe);
  return () => {
    demands.delete(probe);
  };
}

/** Records a piece of config work that ran at once (not through runSliced), such as decoding one xDS message; it counts against this turn's slice. */
export function noteWork(ms: number, label: string, cpuMs?: number): void {
  turnBegan(performance.now() - ms);
  if (ms > longest.ms) longest = { ms, label };
  if (cpuMs !== undefined && cpuMs > longestCpu.ms) longestCpu = { ms: cpuMs, label };
}

/** The longest step recorded since the last call, then starts again (benchmarks, per phase). */
export function takeLongestStep(): LongestStep {
  const out: LongestStep = cpuTracking ? { ...longest, cpu: longestCpu } : longest;
  longest = NONE;
  longestCpu = NONE;
  return out;
}

/** The event-loop thread's CPU ms since `since` (cpuNow), or undefined when not tracking. */
export function cpuSince(since: number | undefined): number | undefined {
  return since === undefined || cpuClock === undefined ? undefined : cpuClock() - since;
}

/** The event-loop thread's CPU clock in ms while trackStepCpu is on, for cpuSince. */
export function cpuNow(): number | undefined {
  return cpuTracking && cpuClock !== undefined ? cpuClock() : undefined;
}

let cpuClock: (() => number) | undefined;

/**
 * This thread's CPU time: Linux's per-thread schedstat (nanoseconds on the
 * CPU), so the collector's helper threads and other processes' turns are
 * left out; elsewhere the process's CPU time.
 */
function threadCpuClock(): () => number {
  try {
    const fd = fs.openSync('/proc/thread-self/schedstat', 'r');
    const buf = Buffer.alloc(64);
    return () => Number.parseInt(buf.toString('latin1', 0, fs.readSync(fd, buf, 0, buf.length, 0)), 10) / 1e6;
  } catch {
    return () => {
      const used = process.cpuUsage();
      return (used.user + used.system) / 1000;
    };
  }
}

export function runNow<T>(steps: Steps<T>): T {
  let r = steps.next();
  while (r.done !== true) r = steps.next();
  return r.value;
}

/** Resolves in the next turn of the event loop (after the I/O and timers that are due). */
export function nextTurn(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}

/**
 * Runs `steps` in slices of about `sliceMs` (`busySliceMs`, when shorter,
 * while calls are in flight) with a turn of the event loop between: the
 * first slice too, when config work earlier in this turn (the slices of
 * another runSliced whose promise it awaited, a decode) already used the
 * budget.
 */
export async function runSliced<T>(steps: Steps<T>, sliceMs = SLICE_MS, label = 'config work', busySliceMs = BUSY_SLICE_MS): Promise<T> {
  let now = performance.now();
  let start = turnBegan(now);
  if (now - start >= turnSlice(sliceMs, busySliceMs)) {
    await nextTurn();
    now = performance.now();
    start = turnBegan(now);
  }
  let cpu = cpuNow();
  let r = steps.next();
  const first = now;
  now = performance.now();
  noteWork(now - first, label, cpuSince(cpu));
  while (r.done !== true) {
    if (now - start >= turnSlice(sliceMs, busySliceMs)) {
      await nextTurn();
      now = performance.now();
      start = turnBegan(now);
    }
    const before = now;
    cpu = cpuNow();
    r = steps.next();
    now = performance.now();
    if (now - before > longest.ms || cpu !== undefined) noteWork(now - before, label, cpuSince(cpu));
  }
  return r.value;
}
