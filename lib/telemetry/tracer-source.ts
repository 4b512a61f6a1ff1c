// TracerSource: the meta-mesh tracer of whatever TracerProvider is global now.
// It is re-acquired when the global provider changes (the API's globals can be
// disabled and set again), and reports "none" while no SDK is registered, so
// the tracing filter can step aside at the cost of two property reads.
import { trace, type Tracer, type TracerProvider } from '@opentelemetry/api';
import { INSTRUMENTATION_NAME, INSTRUMENTATION_VERSION } from './instrumentation-scope';

interface DelegatingProvider extends TracerProvider {
  getDelegateTracer(name: string, version?: string): Tracer | undefined;
}

export class TracerSource {
  private provider: TracerProvider | undefined;
  private tracer: Tracer | undefined;

  /** The tracer to use for a call starting now, or undefined when no SDK is registered. */
  current(): Tracer | undefined {
    const provider = trace.getTracerProvider();
    if (provider === this.provider && this.tracer !== undefined) return this.tracer;
    this.provider = provider;
    // The API's proxy provider answers undefined until an SDK registers behind it;
    // asked again on each call until then (the proxy object does not change when it does).
    const delegating = provider as Partial<DelegatingProvider>;
    this.tracer =
      typeof delegating.getDelegateTracer === 'function'
        ? delegating.getDelegateTracer(INSTRUMENTATION_NAME, INSTRUMENTATION_VERSION)
        : provider.getTracer(INSTRUMENTATION_NAME, INSTRUMENTATION_VERSION);
    return this.tracer;
  }
}
