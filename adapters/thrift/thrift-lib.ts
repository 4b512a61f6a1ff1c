// The pieces of the thrift library that @types/thrift does not declare.
import * as thrift from 'thrift';

/** A transport class's receiver: accumulates chunks and hands over a transport holding whole frames. */
export function receiverOf(
  transport: typeof thrift.TBufferedTransport | typeof thrift.TFramedTransport,
  onFrame: (transportWithData: thrift.TTransport) => void,
): (data: Buffer) => void {
  const receiver = transport.receiver as unknown as (cb: (t: thrift.TTransport) => void) => (data: Buffer) => void;
  return receiver.call(transport, onFrame);
}
