// ErrorRateBreaker: the one circuit breaker meta-mesh puts in front of a
// backend (closed → open → half-open with one trial call), on opossum 9. Two
// users: each cluster, where it opens on the error rate (Envoy has no such
// breaker — its "circuit breakers" are the concurrency caps in
// ClusterThresholds — so this is a meta-mesh extension, configured by
// DestinationRule `trafficPolicy.errorRateBreaker`); and the Redis rate
// limiter's backend, where it opens on a run of consecutive failures
// (`consecutiveFailures`) so a Redis that stops answering is skipped after a
// few calls, however many calls succeeded just before.
//
// opossum is set up for a hot path: no percentiles, no snapshots, no timeout
// (deadlines are the router's), and rolling windows rotated lazily by a shared
// BucketRotation instead of one interval timer per breaker. The one timer left
// is opossum's reset timer, armed (unref'd) only while the breaker is open and
// cleared by close() or shutdown().
import CircuitBreaker from 'opossum';
import { MeshError, MeshErrorCode } from '../protocol/mesh-error';
import { BucketRotation } from './bucket-rotation';
import { EventListeners, type Disposable } from './event-listeners';

export type { ErrorRateBreakerConfig } from '../config/model';
import type { ErrorRateBreakerConfig } from '../config/model';

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerStats {
  /** Counts in the current rolling window. */
  readonly fires: number;
  readonly failures: number;
  readonly successes: number;
  /** Calls refused while open (or while a half-open trial was in flight), since creation. */
  readonly rejects: number;
}

export interface ErrorRateBreakerOptions {
  /** Monotonic ms for window rotation and messages. A test clock needs its own `rotation`. */
  readonly clock?: () => number;
  /** Shared window rotation; by default the process-wide one for this bucket length. */
  readonly rotation?: BucketRotation;
  /**
   * Also open after this many failures in a row, whatever the error rate (a
   * call that does not count as a failure ends the run). Set
   * `errorThresholdPercentage: 100` to open on this rule alone.
   */
  readonly consecutiveFailures?: number;
  /** What the breaker guards, in its refusal messages (default `cluster <name>`). */
  readonly subject?: string;
  /** What a refusal tells the user to do (default: fix the upstream or tune its DestinationRule). */
  readonly advice?: string;
}

type IsFailure = (err: unknown) => boolean;
type Action = (fn: () => Promise<unknown>, isFailure: IsFailure | undefined, isFailedResult: ((v: unknown) => boolean) | undefined) => Promise<unknown>;

/** Carries a resolved-but-failed result through opossum's failure path. */
class FailedResult {
  constructor(readonly value: unknown) {}
}

const action: Action = (fn, _isFailure, isFailedResult) => {
  if (isFailedResult === undefined) return fn();
  return fn().then((value) => {
    if (isFailedResult(value)) throw new FailedResult(value);
    return value;
  });
};

const unwrapFailedResult = (err: unknown): unknown => {
  if (err instanceof FailedResult) return err.value;
  throw err;
};

/** Errors that say nothing about the cluster's health do not count (the default `isFailure`). */
export function isBreakerFailure(err: unknown): boolean {
  if (!(err instanceof MeshError)) return true;
  switch (err.code) {
    case MeshErrorCode.NO_ROUTE:
    case MeshErrorCode.UNKNOWN_CLUSTER:
    case MeshErrorCode.OVER_LIMIT:
    case MeshErrorCode.OVERFLOW:
    case MeshErrorCode.CIRCUIT_OPEN:
    case MeshErrorCode.FAULT_ABORT:
    case MeshErrorCode.CONFIG:
    case MeshErrorCode.CLOSED:
      return false;
    default:
      return true;
  }
}

export class ErrorRateBreaker {
  readonly config: Required<ErrorRateBreakerConfig>;
  private readonly breaker: CircuitBreaker<Parameters<Action>, unknown>;
  private readonly rotation: BucketRotation;
  private readonly clock: () => number;
  private openedAt = 0;
  private rejects = 0;
  private readonly stateListeners = new EventListeners<BreakerState>();
  private readonly subject: string;
  private readonly advice: string;
  private readonly consecutiveFailures: number | undefined;
  /** Failures in a row so far (tracked only with `consecutiveFailures`). */
  private failuresInARow = 0;

  constructor(
    /** The cluster name, for error messages. */
    readonly cluster: string,
    config: ErrorRateBreakerConfig = {},
    options: ErrorRateBreakerOptions = {},
  ) {
    this.config = resolve(config);
    this.subject = options.subject ?? `cluster ${cluster}`;
    this.advice = options.advice ?? 'Fix the failing upstream, or tune trafficPolicy.errorRateBreaker in its DestinationRule';
    this.consecutiveFailures = options.consecutiveFailures;
    const run = options.consecutiveFailures;
    if (run !== undefined && (!Number.isSafeInteger(run) || run < 1)) {
      throw new MeshError(MeshErrorCode.CONFIG, `the circuit breaker of ${this.subject} has consecutiveFailures ${String(run)}; set a whole number >= 1`);
    }
    const { rollingCountTimeout, rollingCountBuckets } = this.config;
    const bucketMs = rollingCountTimeout / rollingCountBuckets;
    this.clock = options.clock ?? (() => performance.now());
    this.rotation = options.rotation ?? BucketRotation.forBucket(bucketMs);
    this.rotation.attach(rollingCountBuckets);
    this.breaker = new CircuitBreaker<Parameters<Action>, unknown>(action, {
      name: cluster,
      timeout: false,
      resetTimeout: this.config.resetTimeout,
      errorThresholdPercentage: this.config.errorThresholdPercentage,
      volumeThreshold: this.config.volumeThreshold,
      rollingCountTimeout,
      rollingCountBuckets,
      rollingPercentilesEnabled: false,
      enableSnapshots: false,
      rotateBucketController: this.rotation.controller,
      // opossum asks "is this error a success?"; callers say whether it is a failure.
      errorFilter: (err: unknown, _fn: unknown, isFailure: IsFailure | undefined) =>
        !(err instanceof FailedResult) && !(isFailure ?? isBreakerFailure)(err),
    });
    this.breaker.on('open', () => {
      this.openedAt = this.clock();
      this.stateListeners.emit('open');
    });
    this.breaker.on('halfOpen', () => this.stateListeners.emit('half-open'));
    this.breaker.on('close', () => this.stateListeners.emit('closed'));
    if (this.consecutiveFailures !== undefined) this.countRuns(this.consecutiveFailures);
  }

  /** The consecutive-failures rule: opossum only knows rates, so the run is counted here and opens opossum's breaker. */
  private countRuns(limit: number): void {
    // opossum reports an error its errorFilter let pass as a 'success', so such a call ends the run too.
    this.breaker.on('success', () => (this.failuresInARow = 0));
    this.breaker.on('close', () => (this.failuresInARow = 0));
    this.breaker.on('failure', () => {
      if (++this.failuresInARow >= limit) this.breaker.open();
    });
  }

  get state(): BreakerState {
    const b = this.breaker;
    return b.halfOpen ? 'half-open' : b.opened ? 'open' : 'closed';
  }

  get stats(): BreakerStats {
    this.rotation.catchUp();
    const s = this.breaker.stats;
    return { fires: s.fires, failures: s.failures, successes: s.successes, rejects: this.rejects };
  }

  onStateChange(listener: (state: BreakerState) => void): Disposable {
    return this.stateListeners.add(listener);
  }

  /**
   * Runs `fn` under the breaker. Rejects with CIRCUIT_OPEN without calling it
   * while open, and while the half-open trial call is in flight. `isFailure`
   * says which rejections count against the cluster (default: isBreakerFailure);
   * `isFailedResult` lets a resolved value count as a failure (an error reply).
   */
  run<T>(fn: () => Promise<T>, isFailure?: (err: unknown) => boolean, isFailedResult?: (value: T) => boolean): Promise<T> {
    this.rotation.catchUp();
    const b = this.breaker;
    if (!b.closed && !b.pendingClose) {
      this.rejects++;
      return Promise.reject(this.refusal());
    }
    if (isFailedResult === undefined) return b.fire(fn, isFailure, undefined) as Promise<T>;
    return b.fire(fn, isFailure, isFailedResult as (v: unknown) => boolean).catch(unwrapFailedResult) as Promise<T>;
  }

  /** Stops the breaker: clears opossum's reset timer and detaches from the shared rotation. */
  shutdown(): void {
    if (this.breaker.isShutdown) return;
    this.breaker.shutdown();
  }

  private refusal(): MeshError {
    if (this.breaker.isShutdown) {
      return new MeshError(MeshErrorCode.CLOSED, `the circuit breaker of ${this.subject} was shut down (its config was replaced or the mesh closed)`, {
        details: { cluster: this.cluster },
      });
    }
    if (this.breaker.halfOpen) {
      return new MeshError(
        MeshErrorCode.CIRCUIT_OPEN,
        `the circuit breaker of ${this.subject} is half-open and its one trial call is in flight; calls fail fast until it succeeds (it opens on ${this.rule()})`,
        { details: { cluster: this.cluster, state: 'half-open' } },
      );
    }
    const halfOpenInMs = Math.max(0, Math.ceil(this.openedAt + this.config.resetTimeout - this.clock()));
    return new MeshError(
      MeshErrorCode.CIRCUIT_OPEN,
      `the circuit breaker of ${this.subject} is open (it opens on ${this.rule()}); it half-opens in ${halfOpenInMs} ms for one trial call. ${this.advice}`,
      { details: { cluster: this.cluster, state: 'open', halfOpenInMs } },
    );
  }

  /** The opening rules in force, for messages. */
  private rule(): string {
    const { errorThresholdPercentage, rollingCountTimeout } = this.config;
    const rules: string[] = [];
    if (errorThresholdPercentage < 100) rules.push(`more than ${errorThresholdPercentage}% errors over ${rollingCountTimeout / 1000}s`);
    if (this.consecutiveFailures !== undefined) rules.push(`${this.consecutiveFailures} failures in a row`);
    return rules.length === 0 ? 'no rule (it never opens by itself)' : rules.join(' or ');
  }
}

function resolve(c: ErrorRateBreakerConfig): Required<ErrorRateBreakerConfig> {
  const out = {
    errorThresholdPercentage: c.errorThresholdPercentage ?? 50,
    volumeThreshold: c.volumeThreshold ?? 20,
    resetTimeout: c.resetTimeout ?? 30_000,
    rollingCountTimeout: c.rollingCountTimeout ?? 10_000,
    rollingCountBuckets: c.rollingCountBuckets ?? 10,
  };
  check(out.errorThresholdPercentage, 'errorThresholdPercentage', 0, 100, false);
  check(out.volumeThreshold, 'volumeThreshold', 0, Number.MAX_SAFE_INTEGER, true);
  check(out.resetTimeout, 'resetTimeout', 1, 2 ** 31 - 1, false);
  check(out.rollingCountTimeout, 'rollingCountTimeout', 1, 2 ** 31 - 1, false);
  check(out.rollingCountBuckets, 'rollingCountBuckets', 1, 1000, true);
  return Object.freeze(out);
}

function check(v: unknown, field: string, min: number, max: number, integer: boolean): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v))) {
    throw new MeshError(
      MeshErrorCode.CONFIG,
      `DestinationRule trafficPolicy.errorRateBreaker.${field} is ${String(v)}; set ${integer ? 'a whole number' : 'a number'} from ${min} to ${max}`,
      { details: { field: `trafficPolicy.errorRateBreaker.${field}` } },
    );
  }
}
