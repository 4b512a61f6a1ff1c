// The AbortSignal every Call carries, as connect-es and undici requests do.
// It aborts when the call's deadline passes (reason: a TIMEOUT MeshError) or
// when the mesh closes (reason: CLOSED), so every wait a call starts (fault
// delays, retry back-off, queued mirrors, pool queues, user filters) ends
// with it. A CallDeadline owns one call's signal and timer; the mesh ends it
// when the call settles, so a finished call never aborts and holds no timer.
// It is the only timer of a call in the common case: the upstream connection
// and the pool queue watch it (`onAbort`) instead of arming timers of their
// own, and the signal itself is only made when something reads it.
import { MeshError, MeshErrorCode } from '../protocol/mesh-error';

/** The deadlines of calls not yet settled: what `close()` aborts. */
export class CallDeadlines {
  private readonly live = new Set<CallDeadline>();
  private closed = false;

  /** A deadline for a call that started at `startTime` (performance.now()) with `timeoutMs` to run. */
  start(timeoutMs: number, startTime: number = performance.now()): CallDeadline {
    const deadline = new CallDeadline(timeoutMs, startTime, this);
    if (this.closed) deadline.abort(closedError());
    else this.live.add(deadline);
    return deadline;
  }

  get size(): number {
    return this.live.size;
  }

  /** Aborts every live call with CLOSED; later calls start aborted. */
  close(): void {
    this.closed = true;
    const error = closedError();
    for (const deadline of [...this.live]) deadline.abort(error);
    this.live.clear();
  }

  /** @internal */
  forget(deadline: CallDeadline): void {
    this.live.delete(deadline);
  }
}

const bySignal = new WeakMap<AbortSignal, CallDeadline>();

export class CallDeadline {
  /** Made on first read of `signal`: an AbortSignal costs several µs to create, and most calls never need one. */
  private controller: AbortController | undefined;
  private timer: NodeJS.Timeout | undefined;
  private ended = false;
  private abortedWith: MeshError | undefined;
  private watchers: ((reason: MeshError) => void)[] | undefined;
  private deadlineAt = Infinity;

  constructor(
    timeoutMs: number,
    private readonly startTime: number,
    private readonly owner?: CallDeadlines,
  ) {
    this.arm(timeoutMs);
  }

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      bySignal.set(this.controller.signal, this);
      if (this.abortedWith !== undefined) this.controller.abort(this.abortedWith);
    }
    return this.controller.signal;
  }

  /** performance.now() when the deadline passes (Infinity for none). */
  get expiresAt(): number {
    return this.deadlineAt;
  }

  /** Why the call was aborted (TIMEOUT or CLOSED); undefined while it was not. */
  get abortReason(): MeshError | undefined {
    return this.abortedWith;
  }

  /**
   * Runs `fn` once when the call is aborted (its deadline passed or the mesh
   * closed), before the signal's listeners; returns a function that stops
   * watching. The mesh's own waits use it: it costs no signal and no timer.
   */
  onAbort(fn: (reason: MeshError) => void): () => void {
    if (this.abortedWith !== undefined) {
      const reason = this.abortedWith;
      queueMicrotask(() => fn(reason));
      return noop;
    }
    if (this.ended) return noop;
    (this.watchers ??= []).push(fn);
    return () => {
      const list = this.watchers;
      if (list === undefined) return;
      const i = list.indexOf(fn);
      if (i >= 0) list.splice(i, 1);
    };
  }

  /** Moves the deadline to `timeoutMs` after the call started (a route's own timeout). */
  reset(timeoutMs: number): void {
    if (this.ended) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.arm(timeoutMs);
  }

  /** The call settled: the timer stops and the signal never aborts. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.watchers = undefined;
    this.owner?.forget(this);
  }

  abort(reason: MeshError): void {
    if (this.ended) return;
    const watchers = this.watchers;
    this.end();
    this.abortedWith = reason;
    if (watchers !== undefined) for (const fn of watchers) fn(reason);
    this.controller?.abort(reason);
  }

  private arm(timeoutMs: number): void {
    this.deadlineAt = this.startTime + timeoutMs;
    const left = this.deadlineAt - performance.now();
    if (left <= 0) {
      this.timer = undefined;
      queueMicrotask(() => this.abort(timeoutError(timeoutMs)));
      return;
    }
    this.timer = setTimeout(() => this.abort(timeoutError(timeoutMs)), left);
    // A call that waits on anything real (a socket, a delay) keeps the process up by that; the deadline alone must not.
    this.timer.unref();
  }
}

const noop = (): void => undefined;

/** The deadline behind a call's signal, when the mesh made it (undefined for a signal of your own). */
export function deadlineOf(signal: AbortSignal): CallDeadline | undefined {
  return bySignal.get(signal);
}

/** The mesh's deadline of a call, read without creating its signal when the call carries it. */
export function callDeadlineOf(call: { readonly deadline?: CallDeadline | undefined; readonly signal: AbortSignal }): CallDeadline | undefined {
  return call.deadline ?? bySignal.get(call.signal);
}

/** Ends the call's deadline once `settled` settles; returns `settled` unchanged. */
export function endWhenSettled<T>(call: { readonly deadline?: CallDeadline | undefined; readonly signal: AbortSignal }, settled: Promise<T>): Promise<T> {
  const deadline = callDeadlineOf(call);
  if (deadline !== undefined) {
    const end = (): void => deadline.end();
    settled.then(end, end);
  }
  return settled;
}

/**
 * Waits `ms`, or rejects with the signal's reason as soon as it aborts.
 * Clears its timer either way, so an aborted wait leaves nothing behind.
 */
export function abortableDelay(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function timeoutError(timeoutMs: number): MeshError {
  return new MeshError(MeshErrorCode.TIMEOUT, `the call's deadline of ${timeoutMs} ms passed; raise the route's timeout (or the client's) if the service needs longer`, {
    details: { timeoutMs },
  });
}

function closedError(): MeshError {
  return new MeshError(MeshErrorCode.CLOSED, 'the mesh was closed while the call was in progress');
}
