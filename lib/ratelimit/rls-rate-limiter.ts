// RlsRateLimiter: a client of an Envoy rate limit service
// (envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit), such as
// envoyproxy/ratelimit. Unlike the reference, which opens a new channel and
// blocks a worker thread per call, it keeps one long-lived channel and makes
// asynchronous calls with a real per-call deadline.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import { MeshError, MeshErrorCode } from '../protocol/mesh-error';
import type { GlobalRateLimiter, GlobalRateLimiterStats, RateLimitDescriptor } from './global-rate-limiter';

export interface RlsRateLimiterOptions {
  /** gRPC target of the rate limit service: `host:port`, `dns:///host:port`, `ipv4:a:p,b:p`. */
  readonly target: string;
  /** Deadline of each ShouldRateLimit call in ms (default 20, the reference's documented default). */
  readonly requestTimeoutMs?: number | undefined;
  /** Refuse calls when the service fails or times out (default false: allow, as Envoy does). */
  readonly denyOnFail?: boolean | undefined;
  /** Channel credentials (default insecure, as the reference). */
  readonly credentials?: grpc.ChannelCredentials | undefined;
  /** Extra grpc-js channel options. */
  readonly channelOptions?: grpc.ChannelOptions | undefined;
}

/** RateLimitResponse.Code.OVER_LIMIT */
const OVER_LIMIT = 2;

interface RlsResponse {
  overall_code?: number;
}

type ShouldRateLimit = (
  request: { domain: string; descriptors: { entries: RateLimitDescriptor }[]; hits_addend: number },
  options: grpc.CallOptions,
  callback: (error: grpc.ServiceError | null, response?: RlsResponse) => void,
) => grpc.ClientUnaryCall;

let serviceCtor: grpc.ServiceClientConstructor | undefined;

export class RlsRateLimiter implements GlobalRateLimiter {
  private readonly counters = { ok: 0, overLimit: 0, failed: 0 };

  /** A copy of the counters as they are now. */
  get stats(): GlobalRateLimiterStats {
    return { ...this.counters };
  }
  private readonly client: grpc.Client;
  private readonly call: ShouldRateLimit;
  private readonly timeoutMs: number;
  private readonly denyOnFail: boolean;

  constructor(options: RlsRateLimiterOptions) {
    if (typeof options.target !== 'string' || options.target === '') {
      throw new MeshError(MeshErrorCode.CONFIG, 'rate limit service target is empty; set it to the host:port of the Envoy rate limit service');
    }
    const timeout = options.requestTimeoutMs ?? 20;
    if (!Number.isFinite(timeout) || timeout <= 0) {
      throw new MeshError(MeshErrorCode.CONFIG, `rate limit requestTimeout is ${timeout} ms; set a positive duration such as 20ms`);
    }
    this.timeoutMs = timeout;
    this.denyOnFail = options.denyOnFail === true;
    const Ctor = loadService();
    // A subchannel pool of its own: closing the limiter then closes its connection at once, instead of
    // leaving it in grpc-js's process-wide pool until that pool's next sweep.
    const channelOptions = { 'grpc.use_local_subchannel_pool': 1, ...options.channelOptions };
    this.client = new Ctor(options.target, options.credentials ?? grpcJs().credentials.createInsecure(), channelOptions);
    this.call = (this.client as unknown as { ShouldRateLimit: ShouldRateLimit }).ShouldRateLimit.bind(this.client);
  }

  shouldLimit(domain: string, descriptors: readonly RateLimitDescriptor[], hits = 1): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const request = {
        domain,
        descriptors: descriptors.map((entries) => ({ entries })),
        // Unset (0) means 1 to the service; only send more when asked to.
        hits_addend: hits === 1 ? 0 : hits,
      };
      try {
        this.call(request, { deadline: Date.now() + this.timeoutMs }, (error, response) => {
          if (error !== null || response === undefined) {
            this.counters.failed++;
            resolve(this.denyOnFail);
          } else if (response.overall_code === OVER_LIMIT) {
            this.counters.overLimit++;
            resolve(true);
          } else {
            this.counters.ok++;
            resolve(false);
          }
        });
      } catch {
        // A closed channel throws synchronously.
        this.counters.failed++;
        resolve(this.denyOnFail);
      }
    });
  }

  async close(): Promise<void> {
    this.client.close();
  }
}

/** Loads meta-mesh's RLS subset once per process. */
function loadService(): grpc.ServiceClientConstructor {
  if (serviceCtor !== undefined) return serviceCtor;
  const dir = protoDir();
// eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use (import cost)
  const protoLoader = require('@grpc/proto-loader') as typeof import('@grpc/proto-loader');
  const definition = protoLoader.loadSync(path.join(dir, 'rls.proto'), { includeDirs: [dir], keepCase: true, defaults: false });
  const pkg = grpcJs().loadPackageDefinition(definition) as unknown as {
    envoy: { service: { ratelimit: { v3: { RateLimitService: grpc.ServiceClientConstructor } } } };
  };
  serviceCtor = pkg.envoy.service.ratelimit.v3.RateLimitService;
  return serviceCtor;
}

/** grpc-js on first use: a mesh without a rate limit service never loads it. */
function grpcJs(): typeof import('@grpc/grpc-js') {
// eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use (import cost)
  return require('@grpc/grpc-js') as typeof import('@grpc/grpc-js');
}

/** tsc does not copy .proto files: use them beside the compiled file when the build copied them, else from the sources. */
function protoDir(): string {
  const candidates = [path.join(__dirname, 'proto'), path.resolve(__dirname, '../../../lib/ratelimit/proto')];
  for (const dir of candidates) if (fs.existsSync(path.join(dir, 'rls.proto'))) return dir;
  throw new MeshError(MeshErrorCode.INTERNAL, `meta-mesh's rls.proto is missing (looked in ${candidates.join(', ')}); reinstall meta-mesh`);
}
