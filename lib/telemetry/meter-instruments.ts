// MeterInstruments: meta-mesh's OpenTelemetry instruments, created lazily
// from whatever MeterProvider is global now. The metrics API has no proxy: a
// meter taken before the SDK registers stays a no-op forever, so the set is
// rebuilt whenever the global provider changes, and while it is the no-op
// provider the filters step aside entirely.
import { createNoopMeter, metrics, type Counter, type Histogram, type Meter, type MeterProvider } from '@opentelemetry/api';
import { INSTRUMENTATION_NAME, INSTRUMENTATION_VERSION } from './instrumentation-scope';

/** Semconv bucket advice for rpc.*.call.duration (seconds). */
export const RPC_DURATION_BUCKETS: readonly number[] = Object.freeze([0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]);

/** Istio's default buckets for istio_request_duration_milliseconds. */
export const ISTIO_DURATION_BUCKETS: readonly number[] = Object.freeze([
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000,
]);

/** Istio's buckets for istio_request_bytes / istio_response_bytes. */
export const ISTIO_BYTES_BUCKETS: readonly number[] = Object.freeze([1, 10, 100, 1000, 10000, 100000, 1000000, 10000000]);

/** Buckets for rpc.*.request.size / response.size (bytes): powers of four from 64 B to 16 MiB, the default frame bound. */
export const RPC_SIZE_BUCKETS: readonly number[] = Object.freeze([0, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216]);

// What the API's no-op meter hands out: instruments identical to these record nothing.
const NOOP_HISTOGRAM = createNoopMeter().createHistogram('meta-mesh.noop');

export interface IstioInstruments {
  readonly requests: Counter;
  readonly duration: Histogram;
  readonly requestBytes: Histogram;
  readonly responseBytes: Histogram;
}

/** The instruments of one MeterProvider; the rarely used ones are made on first use. */
export class InstrumentSet {
  readonly clientDuration: Histogram;
  readonly serverDuration: Histogram;
  readonly localReplies: Counter;
  /** rpc.client.request.size, rpc.client.response.size, rpc.server.request.size, rpc.server.response.size. */
  readonly sizes: { readonly client: readonly [request: Histogram, response: Histogram]; readonly server: readonly [request: Histogram, response: Histogram] };
  private istio: IstioInstruments | undefined;
  private mesh: { ejections: Counter; retries: Counter; mirrored: Counter } | undefined;

  constructor(private readonly meter: Meter) {
    this.clientDuration = meter.createHistogram('rpc.client.call.duration', {
      description: 'Duration of outbound RPC calls, measured by meta-mesh in the calling process.',
      unit: 's',
      advice: { explicitBucketBoundaries: [...RPC_DURATION_BUCKETS] },
    });
    this.serverDuration = meter.createHistogram('rpc.server.call.duration', {
      description: 'Duration of inbound RPC calls, measured by meta-mesh in the serving process.',
      unit: 's',
      advice: { explicitBucketBoundaries: [...RPC_DURATION_BUCKETS] },
    });
    this.localReplies = meter.createCounter('meta_mesh.local_replies', {
      description: 'Calls meta-mesh answered itself (no route, overflow, over limit, circuit open, timeout...), by reason.',
      unit: '{reply}',
    });
    const size = (name: string, what: string) =>
      meter.createHistogram(name, { description: `Size of ${what}, whole message as on the wire.`, unit: 'By', advice: { explicitBucketBoundaries: [...RPC_SIZE_BUCKETS] } });
    this.sizes = {
      client: [size('rpc.client.request.size', 'outbound requests'), size('rpc.client.response.size', 'replies to outbound requests')],
      server: [size('rpc.server.request.size', 'inbound requests'), size('rpc.server.response.size', 'replies to inbound requests')],
    };
  }

  /** True for the API's no-op meter, whose instruments record nothing. */
  get isNoop(): boolean {
    return this.clientDuration === NOOP_HISTOGRAM;
  }

  istioInstruments(): IstioInstruments {
    this.istio ??= {
      requests: this.meter.createCounter('istio_requests_total', { description: 'Requests, with Istio standard labels.' }),
      duration: this.meter.createHistogram('istio_request_duration_milliseconds', {
        description: 'Request duration in ms, with Istio standard labels.',
        unit: 'ms',
        advice: { explicitBucketBoundaries: [...ISTIO_DURATION_BUCKETS] },
      }),
      requestBytes: this.meter.createHistogram('istio_request_bytes', {
        description: 'Request sizes in bytes, with Istio standard labels.',
        unit: 'By',
        advice: { explicitBucketBoundaries: [...ISTIO_BYTES_BUCKETS] },
      }),
      responseBytes: this.meter.createHistogram('istio_response_bytes', {
        description: 'Response sizes in bytes, with Istio standard labels.',
        unit: 'By',
        advice: { explicitBucketBoundaries: [...ISTIO_BYTES_BUCKETS] },
      }),
    };
    return this.istio;
  }

  meshInstruments(): { ejections: Counter; retries: Counter; mirrored: Counter } {
    this.mesh ??= {
      ejections: this.meter.createCounter('meta_mesh.outlier.ejections', { description: 'Endpoints ejected by outlier detection.', unit: '{ejection}' }),
      retries: this.meter.createCounter('meta_mesh.retries', { description: 'Retried tries of outbound calls.', unit: '{retry}' }),
      mirrored: this.meter.createCounter('meta_mesh.mirror.requests', {
        description: 'Mirrored (shadow) requests, sent or dropped by the mirror bounds.',
        unit: '{request}',
      }),
    };
    return this.mesh;
  }
}

export class MeterInstruments {
  private provider: MeterProvider | undefined;
  private set: InstrumentSet | undefined;

  /** The instruments for a call starting now, or undefined while no MeterProvider is registered. */
  current(): InstrumentSet | undefined {
    const provider = metrics.getMeterProvider();
    if (provider !== this.provider) {
      this.provider = provider;
      const set = new InstrumentSet(provider.getMeter(INSTRUMENTATION_NAME, INSTRUMENTATION_VERSION));
      this.set = set.isNoop ? undefined : set;
    }
    return this.set;
  }
}

/** Shared by every filter and MeshMetrics that is not given its own. */
export const sharedInstruments = new MeterInstruments();
