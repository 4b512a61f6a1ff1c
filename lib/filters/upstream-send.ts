// sendWithRetries: the router's per-call upstream work. It holds a request
// slot of the cluster's thresholds for the whole call, then for each try picks
// an endpoint (avoiding endpoints already tried), sends through the cluster's
// error-rate breaker, reports the outcome to the outlier detector, and retries
// as the route's retry policy, the retry budget and the deadline allow.
// Between tries it backs off as Envoy does (fully jittered exponential, 25 ms
// base, 250 ms cap); the wait ends early when the call's signal aborts.
import type { Cluster } from '../cluster/cluster';
import { outlierOutcomeOf } from '../cluster/outlier-detector';
import type { EncodeOptions } from '../protocol/codec';
import type { Message } from '../protocol/message';
import type { CompiledRetry } from '../route/compiled-route';
import { shouldRetry } from '../route/retry-on';
import type { Call } from './call';
import type { SendContext } from '../upstream/connection-limits';
import { abortableDelay, callDeadlineOf } from './call-deadline';

/** Envoy's default retry back-off: base interval 25 ms, maximum 10 × base. */
export const RETRY_BACKOFF_BASE_MS = 25;
export const RETRY_BACKOFF_MAX_MS = 250;

/** The wait before retry number `retry` (1 = the first retry): uniform in [0, min((2^retry − 1) × base, max)). */
export function retryBackoffMs(retry: number, random: () => number): number {
  const ceiling = Math.min(RETRY_BACKOFF_BASE_MS * (2 ** Math.min(retry, 16) - 1), RETRY_BACKOFF_MAX_MS);
  return Math.floor(random() * ceiling);
}

/** Hooks for metrics: called as things happen, never awaited. */
export interface RouterEvents {
  retry?(cluster: string): void;
  mirrored?(cluster: string, dropped: boolean): void;
}

export interface SendPlan {
  readonly options: EncodeOptions | undefined;
  /** Deadline of the whole call, retries included. */
  readonly timeoutMs: number;
  readonly hashKey: bigint | undefined;
  readonly retry: CompiledRetry | undefined;
  readonly events: RouterEvents;
  /** Uniform in [0, 1): draws the retry back-off jitter. Default Math.random. */
  readonly random?: () => number;
}

const isErrorReply = (reply: Message | undefined): boolean => reply !== undefined && reply.type === 'error';

export async function sendWithRetries(call: Call, cluster: Cluster, plan: SendPlan): Promise<Message | undefined> {
  const r = cluster.resilience;
  const thresholds = r.thresholds;
  if (!thresholds.tryAcquireRequest()) throw thresholds.overflowError('requests');
  const deadline = performance.now() + plan.timeoutMs;
  let tried: number[] | undefined;
  let retrying = false;
  // The call's deadline (when the mesh made it) ends the upstream waits without a signal or timers of their own.
  const callDeadline = callDeadlineOf(call);
  const ctx: SendContext = callDeadline === undefined ? { limits: thresholds, signal: call.signal } : { limits: thresholds, deadline: callDeadline };
  try {
    for (let attempt = 0; ; attempt++) {
      call.tryCount = attempt + 1;
      // At least 1 ms: a deadline of 0 would mean "no deadline" to the connection.
      const left = Math.max(1, deadline - performance.now());
      const tryTimeout = plan.retry !== undefined && plan.retry.perTryTimeoutMs > 0 ? Math.min(plan.retry.perTryTimeoutMs, left) : left;
      let failure: unknown;
      let errorReply: Message | undefined;
      let index = -1;
      try {
        index = cluster.pickIndex(call.codecFactory, plan.hashKey, tried);
        const host = cluster.hosts(call.codecFactory)[index]!;
        call.upstream = host.endpoint;
        // The host counts connections and queued calls against the thresholds (max_connections, max_pending_requests).
        const send = () => host.send(call.request, plan.options, tryTimeout, call.expectReply, ctx);
        const reply = r.breaker === undefined ? await send() : await r.breaker.run(send, undefined, isErrorReply);
        if (!isErrorReply(reply)) {
          cluster.report(index, 'success');
          return reply;
        }
        cluster.report(index, 'error-reply');
        if (!canRetry(plan.retry, attempt, 'error-reply', call, deadline)) return reply;
        failure = 'error-reply';
        errorReply = reply;
      } catch (err) {
        if (index >= 0) {
          const outcome = outlierOutcomeOf(err);
          if (outcome !== undefined) cluster.report(index, outcome);
        }
        if (!canRetry(plan.retry, attempt, err, call, deadline)) throw err;
        failure = err;
      }
      // Retry: within the cluster's retry budget (or its maxRetries threshold), on another endpoint if one is available.
      if (retrying) thresholds.releaseRetry();
      retrying = false;
      const active = thresholds.activeRequests + thresholds.pendingRequests;
      const allowed = r.retryBudget === undefined ? thresholds.tryAcquireRetry() : r.retryBudget.canRetry(active, thresholds.activeRetries) && thresholds.tryAcquireRetry();
      if (!allowed) {
        // No retry to be had: the caller gets what the last try ended with.
        if (errorReply !== undefined) return errorReply;
        throw failure;
      }
      retrying = true;
      if (index >= 0) (tried ??= []).push(index);
      const backoff = retryBackoffMs(attempt + 1, plan.random ?? Math.random);
      // A back-off that would outlast the deadline cannot lead to a useful try: end with what the last one got.
      if (backoff > 0 && performance.now() + backoff >= deadline) {
        if (errorReply !== undefined) return errorReply;
        throw failure;
      }
      plan.events.retry?.(cluster.name);
      if (backoff > 0) await abortableDelay(backoff, call.signal);
    }
  } finally {
    if (retrying) thresholds.releaseRetry();
    thresholds.releaseRequest();
  }
}

function canRetry(retry: CompiledRetry | undefined, attempt: number, failure: unknown, call: Call, deadline: number): boolean {
  if (retry === undefined || attempt >= retry.attempts) return false;
  if (deadline - performance.now() <= 0) return false;
  return shouldRetry(retry.conditions, failure, retry.isIdempotent(call.metadata.get('method')));
}
