// Telemetry of Redis commands: a CLIENT span and a duration sample per
// command with the OpenTelemetry database semantic conventions
// (db.system.name "redis", db.operation.name the command, server.address and
// port of the service), and one access-log line per command. On only when
// the Mesh was started with the matching telemetry option.
import { SpanKind, SpanStatusCode, metrics, trace, type Histogram, type MeterProvider } from '@opentelemetry/api';
import type { Command } from 'ioredis';
import type { Mesh } from '../../lib/mesh';
import { INSTRUMENTATION_NAME, INSTRUMENTATION_VERSION } from '../../lib/telemetry';
import type { RedisServiceView } from './redis-service-view';

/** OTel semconv bucket advice for db.client.operation.duration (seconds). */
const DB_DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10];

const telemetries = new WeakMap<Mesh, RedisTelemetry | null>();

export class RedisTelemetry {
  private provider: MeterProvider | undefined;
  private histogram: Histogram | undefined;
  private readonly tracing: boolean;
  private readonly metrics: boolean;
  private readonly log: { write(chunk: string): unknown; readonly writableLength?: number } | undefined;
  private readonly maxBufferedBytes: number;
  /** Access-log lines dropped because the stream was backed up. */
  dropped = 0;

  /** The telemetry of a mesh, or undefined when it has none configured. */
  static of(mesh: Mesh): RedisTelemetry | undefined {
    let t = telemetries.get(mesh);
    if (t === undefined) {
      const o = mesh.options.telemetry;
      t = o === undefined || (!o.tracing && !o.metrics && o.accessLog === undefined) ? null : new RedisTelemetry(mesh);
      telemetries.set(mesh, t);
    }
    return t ?? undefined;
  }

  private constructor(mesh: Mesh) {
    const o = mesh.options.telemetry!;
    this.tracing = o.tracing !== undefined && o.tracing !== false;
    this.metrics = o.metrics !== undefined && o.metrics !== false;
    this.log = o.accessLog?.stream;
    this.maxBufferedBytes = o.accessLog?.maxBufferedBytes ?? 1 << 20;
  }

  /** Starts observing a command; its span, sample and log line are written when it settles. */
  observe(command: Command, view: RedisServiceView, host: string, port: number): void {
    const start = performance.now();
    const operation = command.name.toUpperCase();
    const attributes = { 'db.system.name': 'redis', 'db.operation.name': operation, 'server.address': host, 'server.port': port };
    const span = this.tracing
      ? trace.getTracer(INSTRUMENTATION_NAME, INSTRUMENTATION_VERSION).startSpan(operation, { kind: SpanKind.CLIENT, attributes })
      : undefined;
    const finish = (err: Error | undefined): void => {
      const seconds = (performance.now() - start) / 1000;
      const errorType = err === undefined ? undefined : err.name === 'ReplyError' ? (err.message.split(' ', 1)[0] ?? 'ERR') : err.name;
      if (span !== undefined) {
        if (errorType !== undefined) {
          span.setAttribute('error.type', errorType);
          span.setStatus({ code: SpanStatusCode.ERROR, message: err!.message });
        }
        span.end();
      }
      if (this.metrics) this.duration()?.record(seconds, errorType === undefined ? attributes : { ...attributes, 'error.type': errorType });
      if (this.log !== undefined) this.writeLog(view, operation, host, port, seconds, errorType);
    };
    command.promise.then(
      () => finish(undefined),
      (err: Error) => finish(err),
    );
  }

  private duration(): Histogram | undefined {
    const provider = metrics.getMeterProvider();
    if (provider !== this.provider || this.histogram === undefined) {
      this.provider = provider;
      this.histogram = provider.getMeter(INSTRUMENTATION_NAME, INSTRUMENTATION_VERSION).createHistogram('db.client.operation.duration', {
        description: 'Duration of Redis commands sent through meta-mesh, measured in the calling process.',
        unit: 's',
        advice: { explicitBucketBoundaries: DB_DURATION_BUCKETS },
      });
    }
    return this.histogram;
  }

  private writeLog(view: RedisServiceView, operation: string, host: string, port: number, seconds: number, errorType: string | undefined): void {
    const log = this.log!;
    if ((log.writableLength ?? 0) > this.maxBufferedBytes) {
      this.dropped++;
      return;
    }
    const line = `[${new Date().toISOString()}] "redis ${operation}" ${errorType ?? 'OK'} ${(seconds * 1000).toFixed(3)}ms ${host}:${port} ${view.policy.host}\n`;
    try {
      log.write(line);
    } catch {
      this.dropped++;
    }
  }
}
