// Shadow traffic: fire-and-forget sends to a mirror cluster that can never
// delay or fail the primary call. Bounded in flight and in queue, so a slow
// or dead mirror cluster costs a bounded amount of memory, then drops.
// No timers: queued sends start as running ones settle. A queued send whose
// call's signal has aborted (its deadline passed, the mesh closed) is dropped
// rather than sent late.
import type { MirrorPolicy } from '../config';

export interface MirrorOptions {
  /** Mirror sends in flight at once. Default 16. */
  maxConcurrent?: number | undefined;
  /** Mirror sends waiting for a free slot; beyond this they are dropped. Default 256. */
  maxQueued?: number | undefined;
}

export interface MirrorStats {
  /** Sends started (run at once or taken from the queue). */
  readonly sent: number;
  /** Sends refused because the queue was full, dropped by close(), submitted after it, or whose signal aborted first. */
  readonly dropped: number;
  /** Started sends that threw or rejected; the error goes nowhere else. */
  readonly failed: number;
  readonly running: number;
  readonly queued: number;
}

type Send = () => Promise<unknown>;

/** Whether a call is mirrored under `policy`; `random` is uniform in [0, 1). */
export function shouldMirror(policy: MirrorPolicy, random: number): boolean {
  return random < policy.fraction;
}

export class Mirror {
  private readonly maxConcurrent: number;
  private readonly maxQueued: number;
  private readonly counters = { sent: 0, dropped: 0, failed: 0, running: 0, queued: 0 };
  // Ring buffer: a burst of queued sends costs no array shifting.
  private readonly ring: (Send | undefined)[];
  private readonly signals: (AbortSignal | undefined)[];
  private head = 0;
  private closed = false;
  private readonly onSettled = (): void => {
    this.counters.running--;
    this.drain();
  };
  private readonly onFailed = (): void => {
    this.counters.failed++;
    this.onSettled();
  };

  constructor(options: MirrorOptions = {}) {
    this.maxConcurrent = positiveInt(options.maxConcurrent, 16);
    this.maxQueued = Math.max(0, Math.floor(options.maxQueued ?? 256));
    this.ring = new Array<Send | undefined>(this.maxQueued).fill(undefined);
    this.signals = new Array<AbortSignal | undefined>(this.maxQueued).fill(undefined);
  }

  /** A copy of the counters as they are now. */
  get stats(): MirrorStats {
    return { ...this.counters };
  }

  /**
   * Runs `send` now if a slot is free, else queues it, else drops it.
   * Returns false when dropped. Never throws and never waits for `send`.
   * A send still queued when `signal` aborts is dropped, not started.
   */
  submit(send: Send, signal?: AbortSignal): boolean {
    const c = this.counters;
    if (this.closed || signal?.aborted === true) {
      c.dropped++;
      return false;
    }
    if (c.running < this.maxConcurrent) {
      this.start(send);
      return true;
    }
    if (c.queued < this.maxQueued) {
      const slot = (this.head + c.queued) % this.maxQueued;
      this.ring[slot] = send;
      this.signals[slot] = signal;
      c.queued++;
      return true;
    }
    c.dropped++;
    return false;
  }

  /** Drops every queued send and refuses new ones; sends in flight finish. */
  close(): void {
    this.closed = true;
    const c = this.counters;
    c.dropped += c.queued;
    this.ring.fill(undefined);
    this.signals.fill(undefined);
    this.head = 0;
    c.queued = 0;
  }

  private start(send: Send): void {
    const c = this.counters;
    c.running++;
    c.sent++;
    let p: Promise<unknown>;
    try {
      p = send();
    } catch {
      // No drain here: the caller (submit or drain's loop) sees the free slot.
      c.failed++;
      c.running--;
      return;
    }
    // A non-promise return is tolerated: treat it as an immediate success.
    Promise.resolve(p).then(this.onSettled, this.onFailed);
  }

  private drain(): void {
    const c = this.counters;
    while (c.queued > 0 && c.running < this.maxConcurrent) {
      const send = this.ring[this.head] as Send;
      const signal = this.signals[this.head];
      this.ring[this.head] = undefined;
      this.signals[this.head] = undefined;
      this.head = (this.head + 1) % this.maxQueued;
      c.queued--;
      if (signal?.aborted === true) c.dropped++;
      else this.start(send);
    }
  }
}

function positiveInt(v: number | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Math.floor(v);
  return n >= 1 ? n : 1;
}
