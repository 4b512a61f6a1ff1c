// SoakLedger: the soak's account of every call it makes. A call ends as a
// good reply, a wrong reply, a rate-limit refusal, a failure with a mesh
// error the soak expects while endpoints die (reset, connect failure, no
// healthy upstream, timeout, overflow, open circuit), or as lost: it never
// settled within its deadline, or it failed with anything else (an error
// that is not a MeshError, or a code such as NO_ROUTE or INTERNAL that
// nothing in the soak should cause).
import { MeshError } from 'meta-mesh';

/** Codes a call may fail with while endpoints are killed and restarted. */
export const EXPECTED_FAILURES: ReadonlySet<string> = new Set(['UPSTREAM_RESET', 'CONNECT_FAILURE', 'NO_HEALTHY_UPSTREAM', 'TIMEOUT', 'OVERFLOW', 'CIRCUIT_OPEN']);

export type CallOutcome = 'ok' | 'rate-limited' | 'failed' | 'wrong-reply' | 'lost';

export interface SoakCounts {
  calls: number;
  ok: number;
  rateLimited: number;
  /** Failed with an expected mesh error (endpoint killed), by code. */
  failed: Record<string, number>;
  wrongReplies: number;
  /** Never settled within the deadline, or failed with an unexpected error. */
  lost: number;
}

/** The mesh error code an error carries: its own, or the `[meta-mesh CODE]` a protocol error reply quotes. */
export function meshCodeOf(err: unknown): string | undefined {
  if (err instanceof MeshError) return err.code;
  const message = err instanceof Error ? err.message : typeof err === 'string' ? err : '';
  return /\[meta-mesh ([A-Z_]+)\]/.exec(message)?.[1];
}

/** Which outcome a failed call has. */
export function classifyFailure(err: unknown): { outcome: CallOutcome; code: string | undefined } {
  const code = meshCodeOf(err);
  if (code === 'OVER_LIMIT') return { outcome: 'rate-limited', code };
  if (code !== undefined && EXPECTED_FAILURES.has(code)) return { outcome: 'failed', code };
  return { outcome: 'lost', code };
}

interface Pending {
  readonly started: number;
  readonly what: string;
  lost: boolean;
}

export class SoakLedger {
  readonly counts: SoakCounts = { calls: 0, ok: 0, rateLimited: 0, failed: {}, wrongReplies: 0, lost: 0 };
  /** The first few lost or wrong calls, to say what happened. */
  readonly samples: string[] = [];
  private readonly pending = new Set<Pending>();
  private idleWaiters: (() => void)[] = [];

  constructor(
    /** A call not settled this long after it started is lost. */
    private readonly deadlineMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  get inFlight(): number {
    return this.pending.size;
  }

  /**
   * Accounts for one call. `check` says whether a reply is right; the promise
   * returned never rejects.
   */
  track<T>(what: string, call: () => Promise<T>, check: (reply: T) => boolean): Promise<CallOutcome> {
    const entry: Pending = { started: this.now(), what, lost: false };
    this.pending.add(entry);
    this.counts.calls++;
    let promise: Promise<T>;
    try {
      promise = call();
    } catch (err) {
      promise = Promise.reject(err);
    }
    return promise.then(
      (reply) => this.settle(entry, check(reply) ? 'ok' : 'wrong-reply', undefined, `${what}: wrong reply ${JSON.stringify(reply)?.slice(0, 200)}`),
      (err: unknown) => {
        const { outcome, code } = classifyFailure(err);
        return this.settle(entry, outcome, code, `${what}: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`.slice(0, 300));
      },
    );
  }

  /** Marks calls older than the deadline as lost (each once; a late settle then changes nothing). */
  sweep(): void {
    const now = this.now();
    for (const entry of this.pending) {
      if (!entry.lost && now - entry.started > this.deadlineMs) {
        entry.lost = true;
        this.counts.lost++;
        this.sample(`${entry.what}: not settled after ${this.deadlineMs} ms`);
      }
    }
  }

  /** Resolves once no call is in flight. */
  idle(): Promise<void> {
    if (this.pending.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private settle(entry: Pending, outcome: CallOutcome, code: string | undefined, detail: string): CallOutcome {
    this.pending.delete(entry);
    if (!entry.lost) {
      if (outcome === 'ok') this.counts.ok++;
      else if (outcome === 'rate-limited') this.counts.rateLimited++;
      else if (outcome === 'failed') this.counts.failed[code!] = (this.counts.failed[code!] ?? 0) + 1;
      else if (outcome === 'wrong-reply') {
        this.counts.wrongReplies++;
        this.sample(detail);
      } else {
        this.counts.lost++;
        this.sample(detail);
      }
    }
    if (this.pending.size === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
    return entry.lost ? 'lost' : outcome;
  }

  private sample(text: string): void {
    if (this.samples.length < 10) this.samples.push(text);
  }
}
