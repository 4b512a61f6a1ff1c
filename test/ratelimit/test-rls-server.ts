// A rate limit service for tests, on grpc-js, built from the REAL Envoy
// rls.proto shipped with @grpc/grpc-js-xds, so a client passing against it
// is wire-compatible with Envoy's API, not just with our own subset.
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const deps = path.dirname(require.resolve('@grpc/grpc-js-xds/package.json')) + '/deps';

export interface ReceivedRequest {
  domain: string;
  descriptors: { entries: { key: string; value: string }[] }[];
  hits_addend: number;
}

/** What the server answers next: a code, or silence for `delayMs`. */
export type RlsBehaviour = { code: 'OK' | 'OVER_LIMIT' } | { delayMs: number; code: 'OK' | 'OVER_LIMIT' };

export class TestRlsServer {
  readonly received: ReceivedRequest[] = [];
  behaviour: RlsBehaviour | ((req: ReceivedRequest) => RlsBehaviour) = { code: 'OK' };
  private readonly pending = new Set<NodeJS.Timeout>();

  private constructor(
    private readonly server: grpc.Server,
    readonly port: number,
  ) {}

  static async start(): Promise<TestRlsServer> {
    const definition = protoLoader.loadSync('envoy/service/ratelimit/v3/rls.proto', {
      includeDirs: ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => path.join(deps, d)),
      keepCase: true,
      defaults: true,
      enums: String,
    });
    const pkg = grpc.loadPackageDefinition(definition) as unknown as {
      envoy: { service: { ratelimit: { v3: { RateLimitService: grpc.ServiceClientConstructor } } } };
    };
    const server = new grpc.Server();
    let self: TestRlsServer | undefined;
    server.addService(pkg.envoy.service.ratelimit.v3.RateLimitService.service, {
      ShouldRateLimit: (call: grpc.ServerUnaryCall<ReceivedRequest, unknown>, callback: grpc.sendUnaryData<unknown>) => self!.answer(call.request, callback),
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err === null ? resolve(p) : reject(err))),
    );
    self = new TestRlsServer(server, port);
    return self;
  }

  get target(): string {
    return `127.0.0.1:${this.port}`;
  }

  close(): Promise<void> {
    for (const t of this.pending) clearTimeout(t);
    this.pending.clear();
    return new Promise((resolve) => this.server.tryShutdown(() => resolve()));
  }

  private answer(request: ReceivedRequest, callback: grpc.sendUnaryData<unknown>): void {
    this.received.push(request);
    const b = typeof this.behaviour === 'function' ? this.behaviour(request) : this.behaviour;
    const reply = (): void =>
      callback(null, {
        overall_code: b.code,
        statuses: request.descriptors.map(() => ({ code: b.code, limit_remaining: b.code === 'OK' ? 1 : 0 })),
      });
    if ('delayMs' in b) {
      const t = setTimeout(() => {
        this.pending.delete(t);
        reply();
      }, b.delayMs);
      this.pending.add(t);
    } else {
      reply();
    }
  }
}
