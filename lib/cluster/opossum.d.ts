// The part of opossum 9's API meta-mesh uses. opossum ships no types, and
// @types/opossum is not a dependency; these are written from lib/circuit.js.
declare module 'opossum' {
  import { EventEmitter } from 'node:events';

  namespace CircuitBreaker {
    interface Options {
      /** Ms before a fire counts as a timeout; false disables it. */
      timeout?: number | false;
      resetTimeout?: number;
      errorThresholdPercentage?: number;
      volumeThreshold?: number;
      rollingCountTimeout?: number;
      rollingCountBuckets?: number;
      rollingPercentilesEnabled?: boolean;
      enableSnapshots?: boolean;
      /** Emits 'rotate' to advance every attached breaker's rolling window one bucket. */
      rotateBucketController?: EventEmitter;
      /** Truthy: the error counts as a success (it does not trip the breaker). */
      errorFilter?: (err: unknown, ...args: never[]) => boolean;
      capacity?: number;
      name?: string;
      group?: string;
      allowWarmUp?: boolean;
    }

    interface Stats {
      readonly fires: number;
      readonly failures: number;
      readonly successes: number;
      readonly rejects: number;
      readonly timeouts: number;
    }
  }

  class CircuitBreaker<TArgs extends unknown[] = unknown[], TResult = unknown> extends EventEmitter {
    constructor(action: (...args: TArgs) => Promise<TResult>, options?: CircuitBreaker.Options);
    fire(...args: TArgs): Promise<TResult>;
    open(): void;
    close(): void;
    shutdown(): void;
    readonly opened: boolean;
    readonly closed: boolean;
    readonly halfOpen: boolean;
    readonly pendingClose: boolean;
    readonly isShutdown: boolean;
    readonly stats: CircuitBreaker.Stats;
  }

  export = CircuitBreaker;
}
