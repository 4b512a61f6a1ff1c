// The message types a codec reports, and the shape of one decoded message.
import type { Metadata } from './metadata';

/**
 * What a decoded message is. Oneway calls are routed and sent like requests.
 * 'heartbeat' is a liveness probe that needs an answer (the codec's
 * encodeHeartbeatReply), from either side; a heartbeat's own reply decodes as
 * a 'response'.
 */
export type MessageType = 'request' | 'response' | 'oneway' | 'heartbeat' | 'error';

/** Which side produced the bytes: a caller (requests) or a server (replies). */
export type Direction = 'request' | 'response';

/**
 * A mutation: key/values a route (or a filter) asks the codec to write into
 * the outgoing message (THeader headers for Thrift, attachments for Dubbo).
 */
export type Mutation = Map<string, string>;

/** One whole message framed out of a byte stream. */
export interface Message {
  readonly type: MessageType;
  /** The protocol's correlation id (Thrift seqid, Dubbo request id). */
  readonly requestId: number | bigint;
  /** Routable string metadata, keys lower-cased. */
  readonly metadata: Metadata;
  /** The whole raw message as received, framing included. */
  readonly frame: Buffer;
  /** "service/method" when the protocol has them; used for logs and spans. */
  readonly operationName: string;
  /** Set on replies: false when the reply carries an application error. */
  // `| undefined`: codecs build every message with the same keys (one object shape on the hot path).
  readonly ok?: boolean | undefined;
  /** Codec-private facts about the frame (offsets, detected format). */
  readonly codecState?: unknown;
}

export type DecodeResult =
  | { readonly status: 'more'; /** bytes needed in total, when known */ readonly needed?: number }
  | { readonly status: 'done'; readonly message: Message; /** bytes of `buf` used */ readonly consumed: number };
