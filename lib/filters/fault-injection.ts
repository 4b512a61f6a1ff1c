// Fault injection for a matched route (`fault` in a MetaRouter route, named as
// in Istio's VirtualService). The route is only known once the router has
// matched, so the router calls `FaultInjector.apply` right after matching and
// before picking an endpoint: a delay holds the call, an abort fails it with
// FAULT_ABORT and nothing is sent upstream.
//
// `abort.errorCode` replaces Istio's httpStatus/grpcStatus. It is either a
// meta-mesh error code name (NO_HEALTHY_UPSTREAM, TIMEOUT, OVERFLOW, ...: the
// caller gets the local reply the codec writes for that code) or a protocol
// status (a Thrift TApplicationException type, a Dubbo status byte) the codec
// writes as it is. Either way it travels in the error's `details.errorCode`.
//
// A delay ends early when the call's signal aborts (its deadline, the mesh
// closing), and `close()` ends every delay still running, so no delay timer
// outlives the mesh.
import type { FaultPolicy } from '../config/model';
import { MeshError, MeshErrorCode } from '../protocol/mesh-error';

export interface FaultStats {
  readonly delays: number;
  readonly aborts: number;
}

const NOTHING: Promise<void> = Promise.resolve();

export class FaultInjector {
  private readonly counters = { delays: 0, aborts: 0 };
  /** Delays in progress: close() ends them. */
  private readonly pending = new Set<() => void>();
  private closed = false;

  get stats(): FaultStats {
    return { ...this.counters };
  }

  /**
   * Applies `policy` to one call: resolves (perhaps after the delay) when the
   * call goes on, rejects with FAULT_ABORT when it is aborted. `random` is
   * uniform in [0, 1); the delay and the abort each draw once, independently.
   * A delay rejects with `signal.reason` as soon as `signal` aborts.
   */
  apply(policy: FaultPolicy | undefined, random: () => number = Math.random, routeName?: string, signal?: AbortSignal): Promise<void> {
    if (policy === undefined) return NOTHING;
    const { delay, abort } = policy;
    const delayed = delay !== undefined && delay.delayMs > 0 && random() < delay.fraction;
    const aborted = abort !== undefined && random() < abort.fraction;
    if (delayed) this.counters.delays++;
    if (aborted) this.counters.aborts++;
    if (!delayed) return aborted ? Promise.reject(abortError(abort!, routeName)) : NOTHING;
    if (this.closed) return Promise.reject(closedError());
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const settle = (error: unknown): void => {
        clearTimeout(timer);
        this.pending.delete(cancel);
        signal?.removeEventListener('abort', onAbort);
        if (error === undefined) resolve();
        else reject(error);
      };
      const onAbort = (): void => settle(signal!.reason);
      const cancel = (): void => settle(closedError());
      const timer = setTimeout(() => settle(aborted ? abortError(abort!, routeName) : undefined), delay!.delayMs);
      this.pending.add(cancel);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Delays still running (for leak checks). */
  get activeDelays(): number {
    return this.pending.size;
  }

  /** Ends every delay in progress with CLOSED; later delays fail at once. */
  close(): void {
    this.closed = true;
    for (const cancel of [...this.pending]) cancel();
  }
}

function closedError(): MeshError {
  return new MeshError(MeshErrorCode.CLOSED, 'the mesh was closed during a fault-injection delay');
}

function abortError(abort: NonNullable<FaultPolicy['abort']>, routeName: string | undefined): MeshError {
  const errorCode = String(abort.errorCode);
  const where = routeName === undefined ? 'its route' : `route ${routeName}`;
  const meshCode = Object.hasOwn(MeshErrorCode, errorCode) ? errorCode : undefined;
  return new MeshError(
    MeshErrorCode.FAULT_ABORT,
    `fault injection aborted the call with ${errorCode} (fault.abort of ${where}, ${formatPercent(abort.fraction)} of calls); lower or remove fault.abort in the MetaRouter to stop it`,
    { details: { errorCode, ...(meshCode === undefined ? {} : { meshCode }), ...(routeName === undefined ? {} : { route: routeName }) } },
  );
}

function formatPercent(fraction: number): string {
  return `${Number((fraction * 100).toFixed(4))}%`;
}
