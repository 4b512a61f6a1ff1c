// ThriftFrameState: what decode learned about a frame (the Message's
// codecState), so encode can copy and patch bytes instead of re-parsing.
import type { Message } from '../../../lib/protocol';
import { codecError } from './scan';
import type { THeaderInfo } from './theader';
import type { ThriftFormat } from './thrift-format';

export class ThriftFrameState {
  constructor(
    readonly format: ThriftFormat,
    /** Thrift message type: 1 call, 2 reply, 3 exception, 4 oneway. */
    readonly kind: number,
    readonly seqid: number,
    /** The method name as sent, "Service:method" when multiplexed. */
    readonly name: string,
    /** The method name without a "Service:" prefix. */
    readonly method: string,
    /** Offset in `frame` of the message header (after any framing). */
    readonly payloadStart: number,
    /** Binary: the i32 seqid; compact: the seqid varint. */
    readonly seqStart: number,
    readonly seqEnd: number,
    /** Binary only: false for the old header without a version word. */
    readonly strict: boolean,
    /** Set for THeader frames. */
    readonly header: THeaderInfo | undefined,
  ) {}

  /** The frame state of a message the thrift codec decoded; throws for anything else. */
  static of(message: Message): ThriftFrameState {
    const state = message.codecState;
    if (state instanceof ThriftFrameState) return state;
    throw codecError(
      `cannot encode a message the thrift codec did not decode (operation "${message.operationName}"); pass a Message returned by ThriftCodec.decode`,
    );
  }
}
