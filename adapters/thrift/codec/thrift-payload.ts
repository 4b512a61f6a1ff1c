// The bare Thrift message inside a decoded frame, without framing or THeader.
import type { Message } from '../../../lib/protocol';
import { ThriftFrameState } from './frame-state';

/** A view (no copy) of the message's payload: message header and body struct. */
export function thriftPayload(message: Message): Buffer {
  return message.frame.subarray(ThriftFrameState.of(message).payloadStart);
}
