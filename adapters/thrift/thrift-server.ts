// ThriftServer: a Thrift server whose every call passes the mesh's inbound
// chain before the application's handler. It decodes calls itself (any
// transport and protocol, detected per connection, THeader included) and runs
// the generated Processor on each, so replies keep the caller's framing even
// when handlers answer asynchronously (thrift's own THeader server does not).
import { AsyncLocalStorage } from 'node:async_hooks';
import * as thrift from 'thrift';
import { MeshError, MeshErrorCode } from '../../lib/protocol/mesh-error';
import type { Metadata } from '../../lib/protocol';
import type { Call, Reply } from '../../lib/filters/call';
import type { Mesh } from '../../lib/mesh';
import type { InboundServer, InboundServerStats } from '../../lib/downstream/inbound-server';
import type { ServerLimits } from '../../lib/downstream/server-limits';
import { createThriftCodec, type ThriftCodec } from './codec/thrift-codec';
import type { ThriftEncodeOptions } from './codec/thrift-encode';
import { ThriftFrameState } from './codec/frame-state';
import { protocolClass } from './thrift-options';
import { receiverOf } from './thrift-lib';

/** Anything with the generated processor's `process(input, output)`. */
export interface ThriftProcessor {
  process(input: unknown, output: unknown): unknown;
}

// Generated Processor constructors take the handler with its own typed shape.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type ProcessorClass = new (handler: any) => ThriftProcessor;

export interface ThriftServerOptions {
  /** Largest message accepted (default 16 MiB). */
  maxFrameSize?: number | undefined;
  /**
   * The mesh service this server is a workload of (its ServiceEntry host and port). The
   * MetaRouter of that host then applies here inbound: its localRateLimit and globalRateLimit.
   */
  service?: { host: string; port: number } | undefined;
  /** Names the service in inbound metadata and errors (default `inbound|<port>||`). */
  serviceName?: string | undefined;
  /** Idle timeout, request deadline, max connections, calls in flight per connection, reply buffer (README: server limits). */
  limits?: ServerLimits | undefined;
}

const inboundCall = new AsyncLocalStorage<Call>();

/**
 * The metadata of the inbound call being handled (THeader headers, method,
 * service), for use inside a handler. Undefined outside one.
 */
export function getCallMetadata(): Metadata | undefined {
  return inboundCall.getStore()?.metadata;
}

export class ThriftServer {
  private readonly inbound: InboundServer;

  constructor(
    mesh: Mesh,
    private readonly processor: ThriftProcessor,
    options: ThriftServerOptions = {},
  ) {
    const maxFrameSize = options.maxFrameSize;
    // Fail on a bad option now, not on the first connection.
    createThriftCodec({ maxFrameSize });
    // The inbound server (sockets, TLS, limits) loads with the first server, not with meta-mesh/thrift.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use (import cost)
    const { InboundServer } = require('../../lib/downstream/inbound-server') as typeof import('../../lib/downstream/inbound-server');
    this.inbound = new InboundServer(mesh, {
      codecFactory: { protocol: 'thrift', create: () => createThriftCodec({ maxFrameSize }) },
      terminal: (call) => this.runProcessor(call),
      ...(options.service === undefined ? {} : { served: options.service }),
      ...(options.serviceName === undefined ? {} : { serviceName: options.serviceName }),
      ...(options.limits === undefined ? {} : { limits: options.limits }),
      // Replies keep the caller's framing (THeader stays THeader, framed stays framed).
      replyOptions: (request): ThriftEncodeOptions => ({ transport: ThriftFrameState.of(request).format.transport }),
    });
  }

  /** Starts listening; resolves with the bound port (pass 0 for any free port). */
  listen(port: number, host = '127.0.0.1'): Promise<number> {
    return this.inbound.listen(port, host);
  }

  get port(): number {
    return this.inbound.port;
  }

  /** What the server's limits did so far (connections, refused, idle-closed, request timeouts). */
  get stats(): InboundServerStats {
    return this.inbound.stats;
  }

  /** Stops accepting and closes every connection. */
  close(): Promise<void> {
    return this.inbound.close();
  }

  /** The terminal handler: runs the generated processor on the call's bytes. */
  private runProcessor(call: Call): Promise<Reply | undefined> {
    const request = call.request;
    const format = ThriftFrameState.of(request).format;
    const Protocol = protocolClass(format.protocol);
    // The processor reads a bare message: strip the framing (and THeader) first.
    const bare = (call.codec as ThriftCodec).encode(request, { transport: 'unframed' });
    return new Promise<Reply | undefined>((resolve, reject) => {
      const output = new thrift.TBufferedTransport(undefined, (buf?: Buffer) => {
        if (buf === undefined) return;
        try {
          const replyCodec = createThriftCodec({ format: { transport: 'unframed', protocol: format.protocol } });
          const decoded = replyCodec.decode(buf, 'response');
          if (decoded.status !== 'done') throw new MeshError(MeshErrorCode.INTERNAL, 'the processor wrote an incomplete reply');
          resolve({ message: decoded.message });
        } catch (err) {
          reject(MeshError.from(err, MeshErrorCode.INTERNAL));
        }
      });
      const receiver = receiverOf(thrift.TBufferedTransport, (input) => {
        inboundCall.run(call, () => {
          try {
            this.processor.process(new Protocol(input), new Protocol(output));
          } catch (err) {
            reject(MeshError.from(err, MeshErrorCode.INTERNAL));
            return;
          }
          if (!call.expectReply) resolve(undefined);
        });
      });
      receiver(bare);
    });
  }
}

/**
 * A Thrift server for `service` (a generated module or its Processor class,
 * or a ready processor such as thrift.MultiplexedProcessor) behind the mesh's
 * inbound chain:
 *
 *     const server = createThriftServer(mesh, Calculator, handler);
 *     await server.listen(9090);
 */
export function createThriftServer(
  mesh: Mesh,
  service: { Processor: ProcessorClass } | ProcessorClass | ThriftProcessor,
  handler?: unknown,
  options?: ThriftServerOptions,
): ThriftServer {
  let processor: ThriftProcessor;
  if (typeof service === 'function') processor = new service(settleThrows(handler));
  else if ('Processor' in service && typeof service.Processor === 'function') processor = new service.Processor(settleThrows(handler));
  else if (typeof (service as ThriftProcessor).process === 'function') processor = service as ThriftProcessor;
  else throw new MeshError(MeshErrorCode.CONFIG, 'createThriftServer needs a generated service module, its Processor class, or a processor with process(input, output)');
  return new ThriftServer(mesh, processor, options);
}

/**
 * The handler with every method made to fail the same way whether it throws
 * synchronously or rejects: a promise-style method's throw becomes a rejected
 * promise, a callback-style method's throw goes to its callback. The generated
 * processor then answers with the declared exception (or a
 * TApplicationException) for that call alone. Each wrapper keeps its method's
 * arity, which the processor reads to tell the two styles apart.
 */
/** What a handler threw, as something with a readable `message` (the processor writes that message into its TApplicationException). */
function readable(err: unknown): unknown {
  if (err !== null && typeof err === 'object' && typeof (err as { message?: unknown }).message === 'string') return err;
  return MeshError.from(err, MeshErrorCode.INTERNAL);
}

function settleThrows(handler: unknown): unknown {
  if (handler === null || typeof handler !== 'object') return handler;
  const methods = new Map<string, (...args: unknown[]) => unknown>();
  for (let o: object | null = handler; o !== null && o !== Object.prototype; o = Object.getPrototypeOf(o) as object | null) {
    for (const name of Object.getOwnPropertyNames(o)) {
      const fn = (handler as Record<string, unknown>)[name];
      if (name === 'constructor' || methods.has(name) || typeof fn !== 'function') continue;
      methods.set(name, fn as (...args: unknown[]) => unknown);
    }
  }
  const wrapped: Record<string, unknown> = Object.create(handler) as Record<string, unknown>;
  for (const [name, fn] of methods) {
    const method = function (this: unknown, ...args: unknown[]): unknown {
      // Thrift arguments are never functions: a function last is the processor's callback.
      const callback = args.length > 0 ? args[args.length - 1] : undefined;
      try {
        const result = fn.apply(handler, args);
        return typeof callback !== 'function' && result instanceof Promise ? result.catch((err: unknown) => Promise.reject(readable(err))) : result;
      } catch (err) {
        if (typeof callback === 'function') return (callback as (e: unknown) => void)(readable(err));
        return Promise.reject(readable(err));
      }
    };
    Object.defineProperty(method, 'length', { value: fn.length });
    wrapped[name] = method;
  }
  return wrapped;
}
