// RetryBudget: Envoy's retry_budget, which Istio exposes as DestinationRule
// `trafficPolicy.retryBudget {percent, minRetryConcurrency}`. Instead of a
// fixed max_retries, retries in flight may reach a share of the requests in
// flight, never less than a floor, so retries scale with load and cannot
// multiply an outage.
import { MeshError, MeshErrorCode } from '../protocol/mesh-error';

export type { RetryBudgetConfig } from '../config/model';
import type { RetryBudgetConfig } from '../config/model';

export class RetryBudget {
  readonly percent: number;
  readonly minRetryConcurrency: number;

  constructor(config: RetryBudgetConfig = {}) {
    const percent = config.percent ?? 20;
    if (typeof percent !== 'number' || !Number.isFinite(percent) || percent < 0 || percent > 100) {
      throw new MeshError(MeshErrorCode.CONFIG, `DestinationRule trafficPolicy.retryBudget.percent is ${String(percent)}; set a number from 0 to 100`, {
        details: { field: 'trafficPolicy.retryBudget.percent' },
      });
    }
    const min = config.minRetryConcurrency ?? 3;
    if (typeof min !== 'number' || !Number.isSafeInteger(min) || min < 0) {
      throw new MeshError(MeshErrorCode.CONFIG, `DestinationRule trafficPolicy.retryBudget.minRetryConcurrency is ${String(min)}; set a whole number of at least 0`, {
        details: { field: 'trafficPolicy.retryBudget.minRetryConcurrency' },
      });
    }
    this.percent = percent;
    this.minRetryConcurrency = min;
  }

  /** Retries allowed in flight while `activeRequests` (active + pending) are. */
  maxRetries(activeRequests: number): number {
    const budget = Math.floor((this.percent / 100) * activeRequests);
    return budget > this.minRetryConcurrency ? budget : this.minRetryConcurrency;
  }

  /** Whether one more retry may start. `activeRequests` counts active plus pending requests, as Envoy does. */
  canRetry(activeRequests: number, activeRetries: number): boolean {
    return activeRetries < this.maxRetries(activeRequests);
  }
}
