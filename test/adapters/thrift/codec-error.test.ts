// encodeError: protocol-native TApplicationException replies that real
// generated clients turn into a rejected call carrying our message.
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { FrameReader, MeshError, MeshErrorCode } from '../../../lib/protocol';
import { createThriftCodec, ThriftFrameState } from '../../../adapters/thrift/codec';
import { Calculator, captureRequests, classesOf, formatOf, receiveReply, STACKS, T, type Stack } from './support/thrift-wire';

function decode(bytes: Buffer) {
  const result = createThriftCodec().decode(bytes, 'request');
  if (result.status !== 'done') throw new Error('expected a whole message');
  return result.message;
}

function isAppException(err: unknown, type: number, message: string): boolean {
  return err instanceof T.Thrift.TApplicationException && (err as { type: number }).type === type && (err as Error).message === message;
}

describe('ThriftCodec encodeError', () => {
  for (const stack of STACKS) {
    it(`rejects a real ${stack} client call with our TApplicationException`, async () => {
      const outcome = await receiveReply(stack, (c) => c.add(2, 3), (request) =>
        createThriftCodec().encodeError(decode(request), new MeshError(MeshErrorCode.NO_ROUTE, 'no route matched method "add"')),
      );
      assert.ok(isAppException(outcome.error, 6, '[meta-mesh NO_ROUTE] no route matched method "add"'), String(outcome.error));
    });

    it(`answers a multiplexed ${stack} call so the service's client receives it`, async () => {
      const outcome = await receiveReply(
        stack,
        (c) => c.add(2, 3),
        (request) => createThriftCodec().encodeError(decode(request), new MeshError(MeshErrorCode.TIMEOUT, 'deadline of 50ms passed')),
        { service: 'Calc' },
      );
      assert.ok(isAppException(outcome.error, 6, '[meta-mesh TIMEOUT] deadline of 50ms passed'), String(outcome.error));
    });
  }

  it('uses PROTOCOL_ERROR (7) for codec errors', async () => {
    const outcome = await receiveReply('framed-compact', (c) => c.add(2, 3), (request) =>
      createThriftCodec().encodeError(decode(request), new MeshError(MeshErrorCode.CODEC, 'bad bytes')),
    );
    assert.ok(isAppException(outcome.error, 7, '[meta-mesh CODEC] bad bytes'), String(outcome.error));
  });

  it('writes the reply in the request format with the plain method name and the seqid', () => {
    for (const stack of STACKS) {
      const [, request] = captureRequests(stack, (c) => [c.add(1, 1), c.subtract(4, 2)], { service: 'Calc' });
      const reply = createThriftCodec().encodeError(decode(request!), new MeshError(MeshErrorCode.OVER_LIMIT, 'slow down'));
      const result = createThriftCodec().decode(reply, 'response');
      assert.equal(result.status, 'done');
      if (result.status !== 'done') return;
      assert.equal(result.consumed, reply.length);
      assert.equal(result.message.type, 'error');
      assert.equal(result.message.ok, false);
      assert.equal(result.message.requestId, 2);
      assert.equal(result.message.operationName, 'subtract');
      assert.deepEqual({ ...ThriftFrameState.of(result.message).format }, formatOf(stack));
    }
  });

  it('without a request uses the stream format, an empty name and seqid 0', () => {
    const codec = createThriftCodec();
    codec.decode(captureRequests('framed-compact', (c) => c.add(1, 2))[0]!, 'request');
    const result = createThriftCodec().decode(codec.encodeError(undefined, new MeshError(MeshErrorCode.CODEC, 'garbage')), 'response');
    assert.equal(result.status, 'done');
    if (result.status !== 'done') return;
    assert.equal(result.message.requestId, 0);
    assert.equal(result.message.metadata.get('method'), '');
    assert.deepEqual({ ...ThriftFrameState.of(result.message).format }, { transport: 'framed', protocol: 'compact' });
  });

  it('without a request or a stream format writes framed binary', () => {
    const result = createThriftCodec().decode(createThriftCodec().encodeError(undefined, new MeshError(MeshErrorCode.CODEC, 'x')), 'response');
    assert.equal(result.status, 'done');
    if (result.status !== 'done') return;
    assert.deepEqual({ ...ThriftFrameState.of(result.message).format }, { transport: 'framed', protocol: 'binary' });
  });

  for (const stack of ['framed-binary', 'header-binary'] as Stack[]) {
    it(`fails a ${stack} call made over a real socket through thrift's Connection`, async () => {
      // A stand-in upstream that answers every call with a local error reply, read through FrameReader.
      const server = net.createServer((socket) => {
        const codec = createThriftCodec();
        const reader = new FrameReader(codec, 'request');
        socket.on('data', (chunk) =>
          reader.push(chunk, (request) => socket.write(codec.encodeError(request, new MeshError(MeshErrorCode.NO_HEALTHY_UPSTREAM, 'no endpoint')))),
        );
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as net.AddressInfo;
      const { transport, protocol } = classesOf(stack);
      const connection = T.createConnection('127.0.0.1', port, { transport, protocol });
      try {
        const client: Calculator.Client = T.createClient(Calculator, connection);
        if (stack.startsWith('header')) {
          // eslint-disable-next-line @typescript-eslint/no-explicit-any
          const output = (client as any).output;
          const flush = output.flush;
          output.flush = function (this: unknown) {
            output.writeHeaders();
            return flush.call(this);
          };
        }
        await assert.rejects(client.add(2, 3), (err: unknown) => isAppException(err, 6, '[meta-mesh NO_HEALTHY_UPSTREAM] no endpoint'));
      } finally {
        connection.end();
        server.close();
      }
    });
  }
});
