// Thrift codec cost: ns per decode and per encode of an add(2, 3) call,
// mainly framed binary (the common client setup), plus unframed decode and a
// THeader re-frame with a mutation for comparison.
// Run: node dist/bench/thrift-codec.bench.js (prints figures, asserts nothing).
import * as thrift from 'thrift';
import * as Calculator from '../gen/calculator/js/Calculator';
import { createThriftCodec } from '../adapters/thrift/codec';
import { MeshError, MeshErrorCode, type Message } from '../lib/protocol';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const T: any = thrift;

function addCall(transport: unknown): Buffer {
  let out: Buffer | undefined;
  const connection = { transport, protocol: T.TBinaryProtocol, write: (buf: Buffer) => (out = Buffer.from(buf)) };
  const client: Calculator.Client = T.createClient(Calculator, connection);
  client.add(2, 3).catch(() => undefined);
  return out!;
}

function measure(label: string, iterations: number, fn: () => unknown): void {
  for (let i = 0; i < iterations / 10; i++) fn();
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) fn();
  const ns = Number(process.hrtime.bigint() - start) / iterations;
  console.log(`${label.padEnd(48)} ${ns.toFixed(0).padStart(6)} ns/op`);
}

const N = 1_000_000;
const framed = addCall(T.TFramedTransport);
const unframed = addCall(T.TBufferedTransport);
const codec = createThriftCodec();
const decoded = codec.decode(framed, 'request');
if (decoded.status !== 'done') throw new Error('bench input did not decode');
const message: Message = decoded.message;
const unframedCodec = createThriftCodec();
const noRoute = new MeshError(MeshErrorCode.NO_ROUTE, 'no route matched method "add"');
const mutation = new Map([['x-request-id', '2f1c7a9e-4b7d-4e0b-9c55-0d6c7c1e1a10']]);

measure('decode add() framed binary', N, () => codec.decode(framed, 'request'));
measure('decode add() unframed binary', N, () => unframedCodec.decode(unframed, 'request'));
measure('encode add() framed binary, new seqid', N, () => codec.encode(message, { requestId: 12345 }));
measure('encode add() framed binary -> THeader + mutation', N, () => codec.encode(message, { requestId: 12345, mutation, transport: 'header' }));
measure('encodeError add() framed binary', N / 4, () => codec.encodeError(message, noRoute));

