// AdminServer: the mesh's admin port, as Envoy's (and gRPC's proxyless
// clients') admin: /config_dump, /clusters, /ready and /stats over HTTP/1.1,
// and CSDS (envoy.service.status.v3.ClientStatusDiscoveryService) over gRPC,
// both on one port: the first bytes of a connection say which (an HTTP/2
// client starts with the "PRI * HTTP/2.0" preface). It exposes the whole
// config, so it listens on loopback unless told otherwise.
import * as http from 'node:http';
import * as net from 'node:net';
import { Duplex } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import { MeshError, MeshErrorCode } from '../protocol/mesh-error';
import { csdsProtos, type ClientStatusResponseProto } from '../xds';
import { clustersJson, clustersText, type ClusterStatus } from './cluster-status';
import { statsText } from './mesh-stats';

export interface AdminOptions {
  /** Port to listen on (default 15000, Envoy's admin port in Istio; 0 for any free port). */
  port?: number | undefined;
  /** Address to listen on (default 127.0.0.1). Anything beyond loopback also needs `allowRemote`. */
  host?: string | undefined;
  /**
   * Allow a host that is not a loopback address. The admin port shows the whole config and the
   * state of every upstream, with no authentication: only for networks you trust.
   */
  allowRemote?: boolean | undefined;
}

/** What the admin port reads from the mesh, on demand. */
export interface AdminSource {
  dump(): Record<string, unknown>;
  clusters(): ClusterStatus[];
  stats(): [string, number][];
  ready(): boolean;
  clientStatus(excludeResourceContents: boolean): ClientStatusResponseProto;
}

const HTTP2_PREFACE = Buffer.from('PRI * HTTP/2.0');
const MAX_CONNECTIONS = 64;
const FIRST_BYTES_TIMEOUT_MS = 10_000;

const PATHS: Readonly<Record<string, string>> = {
  '/config_dump': 'the config in force, upstream state and xDS state (what mesh.dump() returns)',
  '/clusters': 'endpoints per cluster: health, outlier ejection, calls in flight, connection state (?format=json)',
  '/ready': 'LIVE (200) while the mesh runs',
  '/stats': "the mesh's own counters and gauges (?format=json)",
};

export class AdminServer {
  private readonly server: net.Server;
  private readonly http: http.Server;
  private readonly grpc: grpc.Server;
  private readonly injector: ReturnType<grpc.Server['createConnectionInjector']>;
  private readonly sockets = new Set<net.Socket>();
  private closed = false;

  private constructor(private readonly source: AdminSource) {
    this.http = http.createServer((req, res) => this.serveHttp(req, res));
    this.grpc = new grpc.Server();
    const respond = (request: { exclude_resource_contents?: boolean } | undefined) => source.clientStatus(request?.exclude_resource_contents === true);
    this.grpc.addService(csdsProtos().service, {
      FetchClientStatus: (call: grpc.ServerUnaryCall<{ exclude_resource_contents?: boolean }, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        try {
          callback(null, respond(call.request));
        } catch (err) {
          callback({ code: grpc.status.INTERNAL, details: (err as Error).message });
        }
      },
      StreamClientStatus: (stream: grpc.ServerDuplexStream<{ exclude_resource_contents?: boolean }, unknown>) => {
        stream.on('data', (request: { exclude_resource_contents?: boolean }) => {
          try {
            stream.write(respond(request));
          } catch (err) {
            stream.destroy(err as Error);
          }
        });
        stream.on('end', () => stream.end());
        stream.on('error', () => undefined);
      },
    });
    this.injector = this.grpc.createConnectionInjector(grpc.ServerCredentials.createInsecure());
    this.server = net.createServer((socket) => this.accept(socket));
    this.server.maxConnections = MAX_CONNECTIONS;
  }

  /** Validates the options and starts listening; resolves once bound. */
  static async start(options: AdminOptions, source: AdminSource): Promise<AdminServer> {
    const host = options.host ?? '127.0.0.1';
    const port = options.port ?? 15000;
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new MeshError(MeshErrorCode.CONFIG, `admin.port is ${String(port)}; use 0-65535 (0 for any free port)`);
    if (!isLoopback(host) && options.allowRemote !== true) {
      throw new MeshError(
        MeshErrorCode.CONFIG,
        `admin.host ${host} is not a loopback address; the admin port shows the whole config without authentication, so it listens beyond loopback only with admin.allowRemote: true`,
      );
    }
    const admin = new AdminServer(source);
    await new Promise<void>((resolve, reject) => {
      admin.server.once('error', reject);
      admin.server.listen(port, host, () => {
        admin.server.off('error', reject);
        resolve();
      });
    });
    return admin;
  }

  /** The bound port. */
  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  /** `host:port` as `meta-mesh dump --admin` takes it. */
  get address(): string {
    const a = this.server.address() as net.AddressInfo;
    return a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.injector.destroy();
    this.grpc.forceShutdown();
    for (const s of this.sockets) s.destroy();
    this.http.close();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Reads just enough of a connection to tell HTTP/2 (gRPC) from HTTP/1.1, then hands it over with those bytes put back. */
  private accept(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.setTimeout(FIRST_BYTES_TIMEOUT_MS, () => socket.destroy());
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const n = Math.min(head.length, HTTP2_PREFACE.length);
      const h2 = head.subarray(0, n).equals(HTTP2_PREFACE.subarray(0, n));
      if (h2 && head.length < HTTP2_PREFACE.length) return;
      socket.off('data', onData);
      socket.setTimeout(0);
      if (h2) {
        // HTTP/2 reads the socket's handle directly, past bytes already read: give it a stream that starts with them.
        this.injector.injectConnection(replay(socket, head));
        return;
      }
      socket.pause();
      socket.unshift(head);
      this.http.emit('connection', socket);
      socket.resume();
    };
    socket.on('data', onData);
  }

  private serveHttp(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://admin');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'text/plain', `the admin port is read-only: use GET\n`);
      return;
    }
    const json = url.searchParams.get('format') === 'json';
    try {
      switch (url.pathname) {
        case '/config_dump':
          send(res, 200, 'application/json', `${JSON.stringify(this.source.dump(), null, 2)}\n`);
          return;
        case '/clusters': {
          const statuses = this.source.clusters();
          if (json) send(res, 200, 'application/json', `${JSON.stringify(clustersJson(statuses), null, 2)}\n`);
          else send(res, 200, 'text/plain', clustersText(statuses));
          return;
        }
        case '/ready': {
          const ready = this.source.ready();
          send(res, ready ? 200 : 503, 'text/plain', ready ? 'LIVE\n' : 'DRAINING\n');
          return;
        }
        case '/stats': {
          const stats = this.source.stats();
          if (json) send(res, 200, 'application/json', `${JSON.stringify({ stats: stats.map(([name, value]) => ({ name, value })) }, null, 2)}\n`);
          else send(res, 200, 'text/plain', statsText(stats));
          return;
        }
        case '/':
          send(res, 200, 'text/plain', `meta-mesh admin commands:\n${Object.entries(PATHS).map(([p, d]) => `  ${p}: ${d}\n`).join('')}`);
          return;
        default:
          send(res, 404, 'text/plain', `no admin path ${url.pathname}; try / for the list\n`);
      }
    } catch (err) {
      send(res, 500, 'text/plain', `${(err as Error).message}\n`);
    }
  }
}

/** A Duplex over `socket` whose readable side starts with `head`, the bytes already taken off it. */
function replay(socket: net.Socket, head: Buffer): Duplex {
  const duplex = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk: Buffer, _encoding, callback) {
      socket.write(chunk, callback);
    },
    final(callback) {
      socket.end();
      callback();
    },
    destroy(err, callback) {
      socket.destroy();
      callback(err);
    },
  });
  duplex.push(head);
  socket.on('data', (chunk: Buffer) => {
    if (!duplex.push(chunk)) socket.pause();
  });
  socket.on('end', () => duplex.push(null));
  socket.on('close', () => duplex.destroy());
  return duplex;
}

function send(res: http.ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': `${type}; charset=utf-8`, 'cache-control': 'no-cache, max-age=0', 'x-content-type-options': 'nosniff' });
  res.end(body);
}

/** 127.0.0.0/8, ::1, ::ffff:127.x and "localhost". */
export function isLoopback(host: string): boolean {
  if (host === 'localhost' || host === '::1' || host === '[::1]') return true;
  const v4 = host.startsWith('::ffff:') ? host.slice(7) : host;
  return net.isIPv4(v4) && v4.startsWith('127.');
}
