// OutlierDetector: passive health for the endpoints of one cluster, with
// Envoy's outlier-detection semantics as Istio configures them (DestinationRule
// `outlierDetection`). The router reports each call's outcome per endpoint
// index; the balancer skips endpoints for which `isEjected` is true.
//
// No timers: ejection expiry and the periodic sweep (success rate, failure
// percentage, ejection-multiplier decay) are computed from the clock when a
// result is reported or a host is asked about. Per-host state lives in typed
// arrays, so a report costs a clock read and a few array writes.
import { MeshError, MeshErrorCode } from '../protocol/mesh-error';
import { EventListeners, type Disposable } from './event-listeners';
import { resolveOutlierDetection, type OutlierDetectionConfig, type ResolvedOutlierDetection } from './outlier-detection-config';

export type { OutlierDetectionConfig } from './outlier-detection-config';

/**
 * How one call to an endpoint ended. `error-reply`: the endpoint answered with a
 * protocol error (Thrift exception reply, Dubbo error status) — Envoy's
 * ExtOriginRequestFailed. The other failures are local-origin: TIMEOUT,
 * UPSTREAM_RESET and CONNECT_FAILURE.
 */
export type OutlierOutcome = 'success' | 'error-reply' | 'timeout' | 'reset' | 'connect-failure';

export type EjectionReason =
  | 'consecutive-5xx'
  | 'consecutive-gateway-failure'
  | 'consecutive-local-origin-failure'
  | 'success-rate'
  | 'failure-percentage'
  | 'success-rate-local-origin'
  | 'failure-percentage-local-origin';

export interface EjectionEvent {
  readonly index: number;
  readonly reason: EjectionReason;
  /** How long this ejection lasts: baseEjectionTime × multiplier, capped by maxEjectionTime. */
  readonly durationMs: number;
  /** The ejection-time multiplier after this ejection (decays by one per clean interval). */
  readonly multiplier: number;
  readonly ejectedCount: number;
}

export interface UnejectionEvent {
  readonly index: number;
  readonly ejectedForMs: number;
}

export interface OutlierStats {
  /** Ejections that took effect. */
  readonly ejectionsEnforced: number;
  /** Ejections refused because maxEjectionPercent was reached (Envoy ejections_overflow). */
  readonly ejectionsOverflow: number;
}

export class OutlierDetector {
  private cfg: ResolvedOutlierDetection;
  private n = 0;
  private ejectedTotal = 0;
  private readonly counters = { ejectionsEnforced: 0, ejectionsOverflow: 0 };
  // Per host, by endpoint index.
  private ejected = new Uint8Array(0);
  private ejectedAt = new Float64Array(0);
  private ejectedUntil = new Float64Array(0);
  private lastUnejectAt = new Float64Array(0);
  private multiplier = new Uint32Array(0);
  private consecutive5xx = new Uint32Array(0);
  private consecutiveGateway = new Uint32Array(0);
  private consecutiveLocal = new Uint32Array(0);
  // The current interval's request counts (Envoy's success-rate buckets).
  private extTotal = new Uint32Array(0);
  private extSuccess = new Uint32Array(0);
  private localTotal = new Uint32Array(0);
  private localSuccess = new Uint32Array(0);
  /** Earliest ejectedUntil among ejected hosts; Infinity when none. */
  private nextExpiry = Infinity;
  private nextSweepAt: number;
  /** The buckets hold data a sweep could eject on; until then isEjected needs no clock. */
  private armed = false;
  /** Success-rate or failure-percentage ejection is on, so results are counted per interval. */
  private judged = false;
  /** Bumped whenever an isAvailable answer may have changed (ejection, return, resize, new config). */
  private version = 0;
  private readonly ejectListeners = new EventListeners<EjectionEvent>();
  private readonly unejectListeners = new EventListeners<UnejectionEvent>();

  /** For PickContext.isAvailable: bound once, so a pick allocates nothing. */
  readonly isAvailable = (index: number): boolean => !this.isEjected(index);

  constructor(
    size: number,
    config: OutlierDetectionConfig = {},
    private readonly clock: () => number = () => performance.now(),
    private readonly random: () => number = Math.random,
  ) {
    this.cfg = resolveOutlierDetection(config);
    this.judged = this.cfg.enforcingSuccessRate > 0 || this.cfg.enforcingFailurePercentage > 0;
    this.nextSweepAt = clock() + this.cfg.interval;
    this.allocate(Math.max(0, Math.floor(size)));
  }

  get size(): number {
    return this.n;
  }

  get config(): ResolvedOutlierDetection {
    return this.cfg;
  }

  get stats(): OutlierStats {
    return { ...this.counters };
  }

  /**
   * Changes whenever an answer of `isAvailable` may have changed: an ejection, a
   * return (ejections run out lazily, so reading this catches up with the clock),
   * a new endpoint list or config. For PickContext.availabilityVersion.
   */
  get availabilityVersion(): number {
    if (this.ejectedTotal > 0 || this.armed) this.advance(this.clock());
    return this.version;
  }

  /** Hosts ejected now (after any ejection that has run out). */
  get ejectedCount(): number {
    if (this.ejectedTotal > 0) this.advance(this.clock());
    return this.ejectedTotal;
  }

  /** True while the share of healthy hosts is below minHealthPercent: ejections are then ignored. */
  get panic(): boolean {
    if (this.ejectedTotal > 0) this.advance(this.clock());
    return this.panicNow();
  }

  onEject(listener: (event: EjectionEvent) => void): Disposable {
    return this.ejectListeners.add(listener);
  }

  onUneject(listener: (event: UnejectionEvent) => void): Disposable {
    return this.unejectListeners.add(listener);
  }

  /** Records how one call to endpoint `index` ended. Unknown indexes are ignored. */
  report(index: number, outcome: OutlierOutcome): void {
    if (!(index >= 0 && index < this.n)) return;
    const cfg = this.cfg;
    const judged = this.judged;
    const split = cfg.splitExternalLocalOriginErrors;
    // Checked above: 0 <= i < n, the length of every per-host array (hence the `!`s on this hot path).
    const i = index;
    if (outcome === 'success') {
      // A success needs the clock only to land in the right interval's bucket: expiry and
      // multiplier decay are caught up exactly by the next error or isEjected.
      if (judged) {
        this.advance(this.clock());
        this.extTotal[i]!++;
        this.extSuccess[i]!++;
        if (split) {
          this.localTotal[i]!++;
          this.localSuccess[i]!++;
        }
        this.armed = true;
      }
      this.consecutive5xx[i] = 0;
      this.consecutiveGateway[i] = 0;
      this.consecutiveLocal[i] = 0;
      return;
    }
    const local = outcome === 'timeout' || outcome === 'reset' || outcome === 'connect-failure';
    if (!local && outcome !== 'error-reply') return;
    const now = this.clock();
    this.advance(now);
    if (judged) {
      if (split && local) this.localTotal[i]!++;
      else this.extTotal[i]!++;
      this.armed = true;
    }
    if (local && split) {
      if (++this.consecutiveLocal[i]! === cfg.consecutiveLocalOriginFailures) this.consecutive(i, 'consecutive-local-origin-failure', now);
    } else if (local || split) {
      // Envoy maps timeouts, resets and connect failures to 503/504 (non-split), and an
      // error reply to 503 (split): gateway errors that are also 5xx.
      if (++this.consecutiveGateway[i]! === cfg.consecutiveGatewayErrors) this.consecutive(i, 'consecutive-gateway-failure', now);
      if (++this.consecutive5xx[i]! === cfg.consecutive5xxErrors) this.consecutive(i, 'consecutive-5xx', now);
    } else {
      // ... and an error reply to 500 when not split, which breaks a run of gateway errors.
      this.consecutiveGateway[i] = 0;
      if (++this.consecutive5xx[i]! === cfg.consecutive5xxErrors) this.consecutive(i, 'consecutive-5xx', now);
    }
  }

  /** Whether the balancer must skip endpoint `index` now. O(1); unknown indexes are not ejected. */
  isEjected(index: number): boolean {
    if (this.ejectedTotal === 0 && !this.armed) return false;
    this.advance(this.clock());
    if (this.ejected[index] !== 1) return false;
    return !this.panicNow();
  }

  /** Applies a new config (same DestinationRule, new snapshot) and keeps every host's state. */
  reconfigure(config: OutlierDetectionConfig): void {
    const next = resolveOutlierDetection(config);
    const now = this.clock();
    this.cfg = next;
    this.version++;
    this.judged = next.enforcingSuccessRate > 0 || next.enforcingFailurePercentage > 0;
    if (this.nextSweepAt > now + next.interval) this.nextSweepAt = now + next.interval;
  }

  /**
   * Carries host state over to a new endpoint list: an endpoint whose key (e.g.
   * `address:port`) is in both lists keeps its counters and any ejection; new
   * endpoints start clean; removed ones are forgotten.
   */
  remap(previousKeys: readonly string[], nextKeys: readonly string[]): void {
    const was = new Map<string, number>();
    previousKeys.forEach((k, i) => {
      if (i < this.n && !was.has(k)) was.set(k, i);
    });
    this.rebuild(nextKeys.map((k) => was.get(k) ?? -1));
  }

  private rebuild(sources: readonly number[]): void {
    const old = {
      ejected: this.ejected,
      ejectedAt: this.ejectedAt,
      ejectedUntil: this.ejectedUntil,
      lastUnejectAt: this.lastUnejectAt,
      multiplier: this.multiplier,
      consecutive5xx: this.consecutive5xx,
      consecutiveGateway: this.consecutiveGateway,
      consecutiveLocal: this.consecutiveLocal,
      extTotal: this.extTotal,
      extSuccess: this.extSuccess,
      localTotal: this.localTotal,
      localSuccess: this.localSuccess,
    };
    const n = sources.length;
    this.allocate(n);
    // Column by column: a loop over Object.keys(old) per endpoint made a 12-element array each (young garbage; 100k of them for a big remap).
    for (const key of Object.keys(old) as (keyof typeof old)[]) {
      const from = old[key];
      const to = this[key];
      for (let i = 0; i < n; i++) {
        const k = sources[i]!; // i < n
        if (k >= 0) to[i] = from[k]!;
      }
    }
    let ejected = 0;
    let nextExpiry = Infinity;
    for (let i = 0; i < n; i++) {
      if (this.ejected[i] !== 1) continue;
      ejected++;
      if (this.ejectedUntil[i]! < nextExpiry) nextExpiry = this.ejectedUntil[i]!;
    }
    this.ejectedTotal = ejected;
    this.nextExpiry = nextExpiry;
    this.version++;
  }

  private allocate(n: number): void {
    this.n = n;
    this.ejected = new Uint8Array(n);
    this.ejectedAt = new Float64Array(n);
    this.ejectedUntil = new Float64Array(n);
    this.lastUnejectAt = new Float64Array(n).fill(NaN);
    this.multiplier = new Uint32Array(n);
    this.consecutive5xx = new Uint32Array(n);
    this.consecutiveGateway = new Uint32Array(n);
    this.consecutiveLocal = new Uint32Array(n);
    this.extTotal = new Uint32Array(n);
    this.extSuccess = new Uint32Array(n);
    this.localTotal = new Uint32Array(n);
    this.localSuccess = new Uint32Array(n);
    this.ejectedTotal = 0;
    this.nextExpiry = Infinity;
  }

  private panicNow(): boolean {
    const min = this.cfg.minHealthPercent;
    return min > 0 && this.n > 0 && (this.n - this.ejectedTotal) * 100 < min * this.n;
  }

  /** Runs whatever the clock says is due: ejections that ran out, then interval sweeps. */
  private advance(now: number): void {
    if (now >= this.nextExpiry) this.expire(now);
    if (now >= this.nextSweepAt) this.sweep(now);
  }

  private consecutive(i: number, reason: EjectionReason, now: number): void {
    // Envoy leaves the counter alone when the host is already out; unejection resets it.
    if (this.ejected[i] === 1) return;
    this.eject(i, reason, now);
    if (reason === 'consecutive-5xx') this.consecutive5xx[i] = 0;
    else if (reason === 'consecutive-gateway-failure') this.consecutiveGateway[i] = 0;
    else this.consecutiveLocal[i] = 0;
  }

  private eject(i: number, reason: EjectionReason, now: number): void {
    if (this.ejected[i] === 1) return;
    const cfg = this.cfg;
    const allowed =
      (this.ejectedTotal + 1) * 100 <= cfg.maxEjectionPercent * this.n || (cfg.alwaysEjectOneHost && this.ejectedTotal === 0);
    if (!allowed) {
      this.counters.ejectionsOverflow++;
      return;
    }
    if (!this.enforced(reason)) return;
    const base = cfg.baseEjectionTime;
    const max = cfg.maxEjectionTime;
    // The multiplier stops growing once base × multiplier passes the cap (as Envoy), so decay starts near it.
    if (this.multiplier[i]! * base < max + base) this.multiplier[i]!++;
    const durationMs = Math.min(base * this.multiplier[i]!, max);
    this.ejected[i] = 1;
    this.ejectedTotal++;
    this.version++;
    this.counters.ejectionsEnforced++;
    this.ejectedAt[i] = now;
    const until = now + durationMs;
    this.ejectedUntil[i] = until;
    if (until < this.nextExpiry) this.nextExpiry = until;
    this.ejectListeners.emit({ index: i, reason, durationMs, multiplier: this.multiplier[i]!, ejectedCount: this.ejectedTotal });
  }

  private enforced(reason: EjectionReason): boolean {
    let percent = 100;
    if (reason === 'success-rate' || reason === 'success-rate-local-origin') percent = this.cfg.enforcingSuccessRate;
    else if (reason === 'failure-percentage' || reason === 'failure-percentage-local-origin') percent = this.cfg.enforcingFailurePercentage;
    return percent >= 100 || (percent > 0 && this.random() * 100 < percent);
  }

  private expire(now: number): void {
    let next = Infinity;
    for (let i = 0; i < this.n; i++) {
      if (this.ejected[i] !== 1) continue;
      const until = this.ejectedUntil[i]!;
      if (until > now) {
        if (until < next) next = until;
        continue;
      }
      this.ejected[i] = 0;
      this.ejectedTotal--;
      this.version++;
      // Fresh counters, so a host is not re-ejected on the first error after it returns.
      this.consecutive5xx[i] = 0;
      this.consecutiveGateway[i] = 0;
      this.consecutiveLocal[i] = 0;
      this.lastUnejectAt[i] = until;
      this.unejectListeners.emit({ index: i, ejectedForMs: until - this.ejectedAt[i]! });
    }
    this.nextExpiry = next;
  }

  /**
   * The sweeps Envoy runs on its interval timer, run late but exactly: the
   * buckets hold only results from before the first boundary that passed (any
   * later result would have run this sweep first), and the multiplier decays
   * once per boundary at which the host had been back for a whole interval.
   */
  private sweep(now: number): void {
    const interval = this.cfg.interval;
    const first = this.nextSweepAt;
    const boundaries = Math.floor((now - first) / interval) + 1;
    const last = first + (boundaries - 1) * interval;
    if (this.armed) {
      this.evaluate(this.extTotal, this.extSuccess, 'success-rate', 'failure-percentage', now);
      if (this.cfg.splitExternalLocalOriginErrors) {
        this.evaluate(this.localTotal, this.localSuccess, 'success-rate-local-origin', 'failure-percentage-local-origin', now);
      }
      this.armed = false;
    }
    this.extTotal.fill(0);
    this.extSuccess.fill(0);
    this.localTotal.fill(0);
    this.localSuccess.fill(0);
    for (let i = 0; i < this.n; i++) {
      if (this.ejected[i] === 1 || this.multiplier[i] === 0) continue;
      const from = this.lastUnejectAt[i]! + interval;
      const decays = from <= first ? boundaries : from > last ? 0 : boundaries - Math.ceil((from - first) / interval);
      this.multiplier[i] = Math.max(0, this.multiplier[i]! - decays);
    }
    this.nextSweepAt = last + interval;
  }

  private evaluate(total: Uint32Array, success: Uint32Array, srReason: EjectionReason, fpReason: EjectionReason, now: number): void {
    const cfg = this.cfg;
    if (this.n < cfg.successRateMinimumHosts && this.n < cfg.failurePercentageMinimumHosts) return;
    const srHosts: number[] = [];
    const fpHosts: number[] = [];
    const rate = new Float64Array(this.n);
    let sum = 0;
    for (let i = 0; i < this.n; i++) {
      if (this.ejected[i] === 1 || total[i] === 0) continue;
      rate[i] = (success[i]! * 100) / total[i]!;
      if (total[i]! >= cfg.successRateRequestVolume) {
        srHosts.push(i);
        sum += rate[i]!;
      }
      if (total[i]! >= cfg.failurePercentageRequestVolume) fpHosts.push(i);
    }
    if (cfg.enforcingSuccessRate > 0 && srHosts.length > 0 && srHosts.length >= cfg.successRateMinimumHosts) {
      const mean = sum / srHosts.length;
      let variance = 0;
      for (const i of srHosts) variance += (rate[i]! - mean) ** 2;
      const threshold = mean - (cfg.successRateStdevFactor / 1000) * Math.sqrt(variance / srHosts.length);
      for (const i of srHosts) if (rate[i]! < threshold) this.eject(i, srReason, now);
    }
    if (cfg.enforcingFailurePercentage > 0 && fpHosts.length > 0 && fpHosts.length >= cfg.failurePercentageMinimumHosts) {
      for (const i of fpHosts) if (100 - rate[i]! >= cfg.failurePercentageThreshold) this.eject(i, fpReason, now);
    }
  }
}

/**
 * The outcome to report for a failed send, or undefined when the failure says
 * nothing about the endpoint (no route, overflow, open breaker, codec, closed).
 */
export function outlierOutcomeOf(error: unknown): OutlierOutcome | undefined {
  if (!(error instanceof MeshError)) return undefined;
  switch (error.code) {
    case MeshErrorCode.TIMEOUT:
      return 'timeout';
    case MeshErrorCode.UPSTREAM_RESET:
      return 'reset';
    case MeshErrorCode.CONNECT_FAILURE:
      return 'connect-failure';
    default:
      return undefined;
  }
}
