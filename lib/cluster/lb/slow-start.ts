// Slow start (Istio warmupDurationSecs, Envoy slow_start_config): a host that
// joined recently gets weight w * max(minWeightPercent, (age/window)^(1/aggression))
// until the window has passed. Computed from the clock at pick time, no timers;
// a host found past its window is remembered as warm so the clock is not read again.
import type { SlowStartOptions } from './lb-options';

export class SlowStart {
  private readonly windowMs: number;
  private readonly exponent: number;
  private readonly floor: number;
  private readonly warm: Uint8Array;
  private warmCount = 0;

  constructor(
    size: number,
    options: SlowStartOptions,
    private readonly now: () => number,
  ) {
    this.windowMs = options.windowMs;
    this.exponent = 1 / Math.max(1e-9, options.aggression ?? 1);
    this.floor = Math.min(1, Math.max(0, (options.minWeightPercent ?? 10) / 100));
    this.warm = new Uint8Array(size);
  }

  /** Builds one when slow start is configured, else undefined. */
  static of(size: number, options: SlowStartOptions | undefined, now: () => number): SlowStart | undefined {
    return options !== undefined && options.windowMs > 0 ? new SlowStart(size, options, now) : undefined;
  }

  /** True once every host has been seen past its window. */
  get allWarm(): boolean {
    return this.warmCount === this.warm.length;
  }

  /** The share (floor..1) of its weight endpoint `index` gets now. */
  factor(index: number, addedAt: ((index: number) => number) | undefined): number {
    if (addedAt === undefined || this.warm[index] === 1) return 1;
    const age = this.now() - addedAt(index);
    if (!(age < this.windowMs)) {
      // NaN ages (a bad addedAt) count as warm rather than starving the host.
      this.warm[index] = 1;
      this.warmCount++;
      return 1;
    }
    const t = age <= 0 ? 0 : age / this.windowMs;
    const ramp = this.exponent === 1 ? t : Math.pow(t, this.exponent);
    return ramp > this.floor ? ramp : this.floor;
  }
}
