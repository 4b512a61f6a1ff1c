// Produces and parses Thrift bytes with the real `thrift` library and the
// generated Calculator code, so codec tests run on what clients and servers
// actually send.
import * as thrift from 'thrift';
import * as Calculator from '../../../../gen/calculator/js/Calculator';
import * as CalculatorTypes from '../../../../gen/calculator/js/calculator_types';

// @types/thrift lacks THeaderProtocol, Multiplexer details and the receivers.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const T: any = thrift;

/** A client-side stack: how the real library frames and encodes. */
export type Stack = 'framed-binary' | 'framed-compact' | 'buffered-binary' | 'buffered-compact' | 'header-binary' | 'header-compact';
export const STACKS: ReadonlyArray<Stack> = [
  'framed-binary',
  'framed-compact',
  'buffered-binary',
  'buffered-compact',
  'header-binary',
  'header-compact',
];

export interface StackClasses {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  transport: any;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  protocol: any;
  /** THeader sub-protocol id, for header stacks. */
  headerProtocolId?: number;
}

export function classesOf(stack: Stack): StackClasses {
  switch (stack) {
    case 'framed-binary':
      return { transport: T.TFramedTransport, protocol: T.TBinaryProtocol };
    case 'framed-compact':
      return { transport: T.TFramedTransport, protocol: T.TCompactProtocol };
    case 'buffered-binary':
      return { transport: T.TBufferedTransport, protocol: T.TBinaryProtocol };
    case 'buffered-compact':
      return { transport: T.TBufferedTransport, protocol: T.TCompactProtocol };
    case 'header-binary':
      return { transport: T.TBufferedTransport, protocol: T.THeaderProtocol, headerProtocolId: 0 };
    case 'header-compact':
      return { transport: T.TBufferedTransport, protocol: T.THeaderProtocol, headerProtocolId: 2 };
  }
}

/** The codec's names for a stack's format ('buffered' is unframed on the wire). */
export function formatOf(stack: Stack): { transport: string; protocol: string } {
  const [t, p] = stack.split('-') as [string, string];
  return { transport: t === 'buffered' ? 'unframed' : t, protocol: p };
}

export interface CaptureOptions {
  /** Use a Multiplexer client for this service name. */
  service?: string;
  /** THeader headers to send (header stacks only). */
  headers?: Record<string, string>;
}

/** Messages flushed by a real generated client; `run` makes calls (their promises are ignored). */
export function captureRequests(stack: Stack, run: (client: Calculator.Client) => unknown, options: CaptureOptions = {}): Buffer[] {
  const { transport, protocol, headerProtocolId } = classesOf(stack);
  const out: Buffer[] = [];
  const connection = {
    transport,
    protocol,
    seqId2Service: {} as Record<number, string>,
    write(buf: Buffer) {
      out.push(Buffer.from(buf));
    },
  };
  const client: Calculator.Client =
    options.service === undefined
      ? T.createClient(Calculator, connection)
      : new T.Multiplexer().createClient(options.service, Calculator, connection);
  if (headerProtocolId !== undefined) {
    // Generated clients flush the transport, not the protocol, so headers are never written without this.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const output = (client as any).output;
    output.setProtocolId(headerProtocolId);
    for (const [k, v] of Object.entries(options.headers ?? {})) output.setWriteHeader(k, v);
    const flush = output.flush;
    output.flush = function (this: unknown) {
      output.writeHeaders();
      return flush.call(this);
    };
  }
  const result = run(client);
  for (const p of [result].flat()) if (p instanceof Promise) p.catch(() => undefined);
  return out;
}

/** One add(2, 3) request (seqid 1) as the stack sends it. */
export function addRequest(stack: Stack, options: CaptureOptions = {}): Buffer {
  return captureRequests(stack, (c) => c.add(2, 3), options)[0]!;
}

/** A recording Calculator handler: promise style, so the processor replies asynchronously. */
export class RecordingHandler {
  calls: Array<{ method: string; args: unknown[] }> = [];
  async add(a: number, b: number) {
    this.calls.push({ method: 'add', args: [a, b] });
    return a + b;
  }
  async subtract(a: number, b: number) {
    this.calls.push({ method: 'subtract', args: [a, b] });
    return a - b;
  }
  async divide(a: number, b: number) {
    this.calls.push({ method: 'divide', args: [a, b] });
    if (b === 0) throw new CalculatorTypes.DivideByZero({ message: 'divide by zero' });
    return Math.trunc(a / b);
  }
  async echo(text: string) {
    this.calls.push({ method: 'echo', args: [text] });
    if (text === 'boom') throw new Error('boom');
    return text;
  }
  async version() {
    this.calls.push({ method: 'version', args: [] });
    return 'v1';
  }
  async sleep(ms: number) {
    this.calls.push({ method: 'sleep', args: [ms] });
    return ms;
  }
  async header(key: string) {
    this.calls.push({ method: 'header', args: [key] });
    return '';
  }
  async record(event: string) {
    this.calls.push({ method: 'record', args: [event] });
  }
}

export interface ServedRequest {
  fname: string;
  mtype: number;
  seqid: number;
  calls: RecordingHandler['calls'];
  /** THeader headers the real library read (header stacks only). */
  headers: Record<string, string>;
  /** The reply bytes the real processor wrote (undefined for oneway). */
  reply: Buffer | undefined;
}

/**
 * Runs the real generated Processor on request bytes, as thrift's server
 * does: reads the message header and the args struct, calls the handler and
 * captures the reply it flushes.
 */
export async function serve(stack: Stack, request: Buffer, handler = new RecordingHandler()): Promise<ServedRequest> {
  const { transport, protocol } = classesOf(stack);
  const processor = new Calculator.Processor(handler);
  let input: { trans: { getReadHeaders?: () => Record<string, string> } } | undefined;
  let begin: { fname: string; mtype: number; rseqid: number } | undefined;
  let reply: Buffer | undefined;
  let resolveReply: () => void = () => undefined;
  const replied = new Promise<void>((resolve) => (resolveReply = resolve));
  const onFlush = (buf: Buffer) => {
    reply = Buffer.from(buf);
    resolveReply();
  };
  const receive = transport.receiver((withData: unknown) => {
    const proto = new protocol(withData);
    input = proto;
    const readBegin = proto.readMessageBegin.bind(proto);
    proto.readMessageBegin = () => (begin = readBegin());
    let output = new protocol(new transport(undefined, onFlush));
    if (protocol === T.THeaderProtocol) {
      output = proto;
      output.trans.onFlush = onFlush;
    }
    processor.process(proto, output);
  });
  receive(request);
  if (begin === undefined) throw new Error('the real library did not read a message');
  if (begin.mtype !== T.Thrift.MessageType.ONEWAY) await Promise.race([replied, new Promise((r) => setTimeout(r, 2000))]);
  return {
    fname: begin.fname,
    mtype: begin.mtype,
    seqid: begin.rseqid,
    calls: handler.calls,
    headers: { ...(input?.trans.getReadHeaders?.() ?? {}) },
    reply,
  };
}

/**
 * Feeds reply bytes to a real generated client's receive path (as thrift's
 * Connection does) after it sent `call`; resolves with the call's outcome.
 */
export async function receiveReply(
  stack: Stack,
  call: (client: Calculator.Client) => Promise<unknown>,
  reply: (request: Buffer) => Buffer,
  options: CaptureOptions = {},
): Promise<{ value?: unknown; error?: unknown }> {
  const { transport, protocol, headerProtocolId } = classesOf(stack);
  const sent: Buffer[] = [];
  const connection: Record<string, unknown> = {
    transport,
    protocol,
    seqId2Service: {},
    write(buf: Buffer) {
      sent.push(Buffer.from(buf));
    },
  };
  const client: Calculator.Client =
    options.service === undefined
      ? T.createClient(Calculator, connection)
      : new T.Multiplexer().createClient(options.service, Calculator, connection);
  if (headerProtocolId !== undefined) {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const output = (client as any).output;
    output.setProtocolId(headerProtocolId);
    const flush = output.flush;
    output.flush = function (this: unknown) {
      output.writeHeaders();
      return flush.call(this);
    };
  }
  const outcome = call(client).then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  const receive = transport.receiver((withData: unknown) => {
    const proto = new protocol(withData);
    const header = proto.readMessageBegin();
    const seqId2Service = connection.seqId2Service as Record<number, string>;
    const service = seqId2Service[header.rseqid];
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const target: any = service === undefined ? client : (connection.client as Record<string, unknown>)[service];
    const recv = target[`recv_${header.fname}`];
    if (typeof recv !== 'function') throw new Error(`client has no recv_${header.fname}`);
    recv.call(target, proto, header.mtype, header.rseqid);
  });
  receive(reply(sent[0]!));
  return Promise.race([outcome, new Promise<{ error: unknown }>((r) => setTimeout(() => r({ error: new Error('no outcome') }), 2000))]);
}

export { Calculator, CalculatorTypes };
