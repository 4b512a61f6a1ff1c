// BackendBreaker: stops a limiter from calling a backend (Redis) that keeps
// failing. After `failureThreshold` failures in a row it opens for
// `coolDownMs`, during which calls are answered at once without touching the
// backend; then one probe call goes through and its outcome closes or
// reopens it. State is computed from the clock when asked: no timers.
import { monotonicClock, type MonotonicClock } from './token-bucket';

export interface BackendBreakerOptions {
  /** Consecutive failures that open the breaker (default 3). */
  readonly failureThreshold?: number;
  /** How long it stays open before a probe (default 1000 ms). */
  readonly coolDownMs?: number;
  readonly clock?: MonotonicClock;
}

export class BackendBreaker {
  private readonly threshold: number;
  private readonly coolDownMs: number;
  private readonly clock: MonotonicClock;
  private failures = 0;
  private openUntil = 0;
  private probing = false;
  /** Calls answered without the backend because the breaker was open. */
  skipped = 0;

  constructor(options: BackendBreakerOptions = {}) {
    this.threshold = Math.max(1, options.failureThreshold ?? 3);
    this.coolDownMs = Math.max(0, options.coolDownMs ?? 1000);
    this.clock = options.clock ?? monotonicClock;
  }

  get isOpen(): boolean {
    return this.failures >= this.threshold;
  }

  /** True when a call may go to the backend now. */
  allow(): boolean {
    if (this.failures < this.threshold) return true;
    if (!this.probing && this.clock() >= this.openUntil) {
      this.probing = true;
      return true;
    }
    this.skipped++;
    return false;
  }

  success(): void {
    this.failures = 0;
    this.probing = false;
  }

  failure(): void {
    this.failures++;
    if (this.failures >= this.threshold) {
      this.probing = false;
      this.openUntil = this.clock() + this.coolDownMs;
    }
  }
}
