// Calls and replies built by hand for filter-level tests: what an adapter
// would hand the chain, for protocols (Dubbo) whose adapter is not needed to
// exercise the filters' contract.
import { Metadata, type Call, type Codec, type Filter, type Handler, type Message, type Reply } from 'meta-mesh';
import { composeFilters } from 'meta-mesh/experimental';

export interface TestCallOptions {
  direction?: Call['direction'];
  protocol?: string;
  metadata?: Record<string, string>;
  operationName?: string;
  host?: string;
  port?: number;
  startTime?: number;
  bytes?: number;
}

export function testCall(options: TestCallOptions = {}): Call {
  const protocol = options.protocol ?? 'thrift';
  const metadata = new Metadata(options.metadata ?? { method: 'add' });
  const request: Message = {
    type: 'request',
    requestId: 1,
    metadata,
    frame: Buffer.alloc(options.bytes ?? 32),
    operationName: options.operationName ?? metadata.get('method') ?? '',
  };
  // The filters read only the codec's protocol name.
  const codec = { protocol } as Codec;
  return {
    direction: options.direction ?? 'outbound',
    service: { host: options.host ?? 'calc.demo.svc.cluster.local', port: options.port ?? 9090, portName: '', protocol, routeConfigName: 'calc_9090' },
    request,
    metadata,
    mutation: new Map(),
    codec,
    codecFactory: { protocol, create: () => codec },
    encodeOptions: undefined,
    expectReply: true,
    startTime: options.startTime ?? performance.now(),
    timeoutMs: 1000,
    signal: new AbortController().signal,
  };
}

export function testReply(options: { ok?: boolean; type?: Message['type']; metadata?: Record<string, string>; bytes?: number } = {}): Reply {
  return {
    message: {
      type: options.type ?? 'response',
      requestId: 1,
      metadata: new Metadata(options.metadata ?? {}),
      frame: Buffer.alloc(options.bytes ?? 16),
      operationName: '',
      ok: options.ok ?? true,
    },
  };
}

/** A chain of `filters` in front of a terminal that plays the router: it sets route, cluster and endpoint. */
export function chain(filters: readonly Filter[], answer: (call: Call) => Promise<Reply | undefined> = async () => testReply()): Handler {
  return composeFilters(filters, async (call) => {
    call.routeName = 'r1';
    call.cluster = `outbound|${call.service.port}|v2|${call.service.host}`;
    call.upstream = '10.0.0.7:19092';
    return answer(call);
  });
}
