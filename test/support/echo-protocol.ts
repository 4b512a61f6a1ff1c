// "echo": a tiny private protocol used to test the engine without Thrift, and
// an example of how little a codec needs. Frame: u32 body length, u32 request
// id, u8 kind (1 request, 2 reply, 3 oneway), then `method\n` and a payload.
import * as net from 'node:net';
import { Metadata, MeshError, MeshErrorCode, type Codec, type CodecFactory, type DecodeResult, type EncodeOptions, type Message } from 'meta-mesh';

const HEAD = 9;

export class EchoCodec implements Codec {
  readonly protocol = 'echo';

  decode(buf: Buffer): DecodeResult {
    if (buf.length < 4) return { status: 'more' };
    const length = buf.readUInt32BE(0);
    if (length > 1 << 20) throw new MeshError(MeshErrorCode.CODEC, `echo frame of ${length} bytes is too large`);
    if (buf.length < 4 + length) return { status: 'more', needed: 4 + length };
    const frame = buf.subarray(0, 4 + length);
    const kind = frame[8];
    const nl = frame.indexOf(10, HEAD);
    const method = frame.toString('latin1', HEAD, nl < 0 ? frame.length : nl);
    const type = kind === 1 ? 'request' : kind === 3 ? 'oneway' : 'response';
    const message: Message = { type, requestId: frame.readUInt32BE(4), metadata: new Metadata({ method }), frame, operationName: method };
    return { status: 'done', message, consumed: 4 + length };
  }

  encode(message: Message, options?: EncodeOptions): Buffer {
    const out = Buffer.from(message.frame);
    if (options?.requestId !== undefined) out.writeUInt32BE(Number(options.requestId), 4);
    return out;
  }

  encodeError(request: Message | undefined, error: MeshError): Buffer {
    return echoFrame(Number(request?.requestId ?? 0), 2, 'error', error.code);
  }
}

export const echoCodecFactory: CodecFactory = { protocol: 'echo', create: () => new EchoCodec() };

export function echoFrame(id: number, kind: number, method: string, payload = ''): Buffer {
  const body = Buffer.from(`${method}\n${payload}`, 'latin1');
  const out = Buffer.alloc(HEAD + body.length);
  out.writeUInt32BE(HEAD - 4 + body.length, 0);
  out.writeUInt32BE(id, 4);
  out[8] = kind;
  body.copy(out, HEAD);
  return out;
}

export function payloadOf(message: Message): string {
  const nl = message.frame.indexOf(10, HEAD);
  return message.frame.toString('latin1', nl + 1);
}

/**
 * An echo server: replies with the payload; "sleep" waits payload ms first;
 * "close" destroys the connection without replying.
 */
export async function startEchoServer(): Promise<{ port: number; server: net.Server; sockets: Set<net.Socket>; received: string[] }> {
  const sockets = new Set<net.Socket>();
  const received: string[] = [];
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const codec = new EchoCodec();
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      for (;;) {
        const r = codec.decode(pending);
        if (r.status === 'more') return;
        pending = pending.subarray(r.consumed);
        const m = r.message;
        const method = m.metadata.get('method')!;
        const payload = payloadOf(m);
        received.push(`${method}:${payload}`);
        if (m.type === 'oneway') continue;
        if (method === 'close') {
          socket.destroy();
          return;
        }
        const reply = echoFrame(Number(m.requestId), 2, method, payload);
        if (method === 'sleep') setTimeout(() => socket.write(reply), Number(payload));
        else socket.write(reply);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as net.AddressInfo).port, server, sockets, received };
}
