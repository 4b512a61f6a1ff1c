// DubboMeshTransport: the last dubbo-js middleware once meshDubbo is applied.
// It stands where dubbo-js's queue/scheduler/socket stage was: it encodes the
// call with dubbo-js's own encoder, sends it through the mesh's outbound chain
// (MetaRouter, load balancing, policies) and hands the reply to dubbo-js's own
// decoder, so callers still get `{err, res}` exactly as before.
import { MeshError, MeshErrorCode, type Message } from '../../lib/protocol';
import type { Call, Reply } from '../../lib/filters/call';
import type { Mesh, OutboundService } from '../../lib/mesh';
import { createDubboCodec, dubboCodecFactory, type DubboCodec } from './codec/dubbo-codec';
import { dubboErrorText, dubboStatusFor } from './codec/dubbo-error-reply';
import { DubboFrameState } from './codec/dubbo-frame-state';
import { dubboJs, type DubboJsContext } from './dubbo-js';

export interface MeshDubboOptions {
  /**
   * Where each Dubbo interface lives in the mesh, as `host:port`, e.g.
   * `{ 'org.example.DemoService': 'demo.default.svc.cluster.local:20880' }`.
   * Interfaces not listed follow Aeraki's convention: the ServiceEntry host
   * is the interface name lower-cased, on port `port`.
   */
  services?: Record<string, string> | undefined;
  /** The port of interfaces not listed in `services` (default 20880, Dubbo's). */
  port?: number | undefined;
  /** The dubbo protocol version written in requests (default 2.0.2; dubbo-js takes it from the provider URL). */
  dubboVersion?: string | undefined;
  /** Largest reply body accepted (default 8 MiB). */
  maxBodySize?: number | undefined;
}

export class DubboMeshTransport {
  private readonly codec: DubboCodec;
  private readonly targets = new Map<string, OutboundService>();
  private readonly dubboVersion: string;

  constructor(
    private readonly mesh: Mesh,
    private readonly options: MeshDubboOptions = {},
  ) {
    this.codec = createDubboCodec({ maxBodySize: options.maxBodySize });
    this.dubboVersion = options.dubboVersion ?? '2.0.2';
    for (const [iface, address] of Object.entries(options.services ?? {})) parseAddress(iface, address);
  }

  /** The dubbo-js middleware; it never calls `next`, as it does the sending itself. */
  readonly middleware = async (ctx: DubboJsContext): Promise<void> => {
    const request = ctx.request;
    if (!ctx.isMethodArgsHessianType) {
      const err = new dubboJs.errors.DubboMethodParamHessianTypeError(`err: ${request.dubboInterface}#${request.methodName} not all arguments are valid hessian type`);
      ctx.body = { err, res: null };
      return;
    }
    request.dubboVersion ??= this.dubboVersion;
    request.path = request.dubboInterface;
    let message: Message;
    try {
      const decoded = this.codec.decode(dubboJs.encodeRequest(ctx), 'request');
      if (decoded.status !== 'done') throw new MeshError(MeshErrorCode.INTERNAL, 'dubbo-js encoded an incomplete frame');
      message = decoded.message;
    } catch (err) {
      ctx.body = { err: err instanceof Error ? err : new Error(String(err)), res: null };
      return;
    }
    const call = this.newCall(ctx, message);
    let reply: Reply | undefined;
    try {
      reply = await this.target(request.dubboInterface).handle(call);
    } catch (err) {
      this.fail(ctx, message, MeshError.from(err));
      return;
    }
    if (call.upstream !== undefined) {
      const colon = call.upstream.lastIndexOf(':');
      ctx.invokeHost = call.upstream.slice(0, colon);
      ctx.invokePort = Number(call.upstream.slice(colon + 1));
    }
    if (reply === undefined) {
      ctx.body = { err: null, res: null };
      return;
    }
    this.settle(ctx, reply.message, reply.mutation);
  };

  private newCall(ctx: DubboJsContext, request: Message): Call {
    const target = this.target(ctx.request.dubboInterface);
    const seconds = ctx.timeout || dubboJs.defaultTimeoutSeconds;
    const startTime = performance.now();
    // The signal is made only if something reads it; the mesh itself waits on the deadline.
    const deadline = this.mesh.callDeadline(seconds * 1000, startTime);
    return {
      direction: 'outbound',
      service: target.service,
      request,
      metadata: request.metadata,
      mutation: new Map(),
      codec: this.codec,
      codecFactory: dubboCodecFactory,
      encodeOptions: undefined,
      expectReply: request.type !== 'oneway',
      startTime,
      timeoutMs: seconds * 1000,
      deadline,
      get signal() {
        return deadline.signal;
      },
    };
  }

  private target(iface: string): OutboundService {
    let target = this.targets.get(iface);
    if (target === undefined) {
      const listed = this.options.services?.[iface];
      const { host, port } = listed === undefined ? { host: iface.toLowerCase(), port: this.options.port ?? 20880 } : parseAddress(iface, listed);
      target = this.mesh.outbound(host, port, dubboCodecFactory);
      this.targets.set(iface, target);
    }
    return target;
  }

  /** Turns the reply into dubbo-js's `{err, res}` and provider attachments. */
  private settle(ctx: DubboJsContext, reply: Message, mutation: ReadonlyMap<string, string> | undefined): void {
    const state = reply.codecState;
    if (reply.type === 'error' && state instanceof DubboFrameState) {
      const err = new dubboJs.errors.DubboDecodeError(this.prefix(ctx) + this.codec.errorText(reply));
      ctx.body = { err: Object.assign(err, { dubboStatus: state.status }), res: null };
      ctx.providerAttachments = {};
      return;
    }
    const frame = mutation !== undefined && mutation.size > 0 ? this.codec.encode(reply, { mutation: new Map(mutation) }) : reply.frame;
    const out = dubboJs.decodeResponse(frame);
    if (out.err !== null) out.err.message = this.prefix(ctx) + out.err.message;
    ctx.body = { err: out.err, res: out.res };
    ctx.providerAttachments = out.attachments ?? {};
  }

  /** A mesh error as the Dubbo error reply a proxy would have sent, surfaced the same way. */
  private fail(ctx: DubboJsContext, request: Message, error: MeshError): void {
    if (error.code === MeshErrorCode.TIMEOUT) {
      const { dubboInterface, methodName } = ctx.request;
      const err = new dubboJs.errors.DubboTimeoutError(`${this.prefix(ctx)}err:${dubboInterface}#${methodName} remote invoke timeout; ${dubboErrorText(error)}`);
      ctx.body = { err: Object.assign(err, { dubboStatus: dubboStatusFor(error, true), code: error.code }), res: null };
      return;
    }
    const decoded = this.codec.decode(this.codec.encodeError(request, error), 'response');
    if (decoded.status === 'done') this.settle(ctx, decoded.message, undefined);
    Object.assign(ctx.body.err ?? {}, { code: error.code });
  }

  /** dubbo-js prefixes every failure this way (queue.failed); kept so log parsers still match. */
  private prefix(ctx: DubboJsContext): string {
    return `uuid: ${ctx.uuid} invoke ${ctx.request.dubboInterface}#${ctx.request.methodName} was error, `;
  }
}

function parseAddress(iface: string, address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  const port = Number(address.slice(colon + 1));
  if (colon <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new MeshError(MeshErrorCode.CONFIG, `meshDubbo: services["${iface}"] is "${address}"; write it as host:port, e.g. "demo.default.svc.cluster.local:20880"`);
  }
  return { host: address.slice(0, colon), port };
}
