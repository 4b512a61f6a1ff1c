// Stand-in for the mesh's own metrics filter in the full-chain scenario: what
// such a filter does per call with the OpenTelemetry API and no SDK
// registered (no-op instruments), so its cost is in the measurement until the
// real one is switched on in scenarios.ts.
import { metrics } from '@opentelemetry/api';
import type { Filter } from 'meta-mesh';

export function otelMetricsFilter(): Filter {
  const meter = metrics.getMeter('meta-mesh-perf');
  const requests = meter.createCounter('metaprotocol.requests');
  const duration = meter.createHistogram('metaprotocol.request.duration', { unit: 'ms' });
  return (next) => async (call) => {
    const attributes = { 'rpc.method': call.metadata.get('method') ?? '', 'rpc.service': call.service.host, outcome: 'ok' };
    try {
      return await next(call);
    } catch (err) {
      attributes.outcome = 'error';
      throw err;
    } finally {
      requests.add(1, attributes);
      duration.record(performance.now() - call.startTime, attributes);
    }
  };
}
