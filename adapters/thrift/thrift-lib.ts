// The pieces of the thrift library that @types/thrift does not declare.
import * as thrift from 'thrift';

/** Thrown by thrift's readers when a message is not all there yet. */
export const InputBufferUnderrunError = (thrift as unknown as { InputBufferUnderrunError: new (message?: string) => Error }).InputBufferUnderrunError;

/** A transport class's receiver: accumulates chunks and hands over a transport holding whole frames. */
export function receiverOf(
  transport: typeof thrift.TBufferedTransport | typeof thrift.TFramedTransport,
  onFrame: (transportWithData: thrift.TTransport) => void,
): (data: Buffer) => void {
  const receiver = transport.receiver as unknown as (cb: (t: thrift.TTransport) => void) => (data: Buffer) => void;
  return receiver.call(transport, onFrame);
}
