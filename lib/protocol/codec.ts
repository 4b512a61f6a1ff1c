// The codec contract: everything protocol-specific lives behind it, so the
// engine (routing, balancing, resilience) never looks at protocol bytes.
import type { DecodeResult, Direction, Message, Mutation } from './message';
import type { MeshError } from './mesh-error';

export interface EncodeOptions {
  /** Rewrite the message's request id to this value (multiplexing on one socket). */
  requestId?: number | bigint | undefined;
  /** Key/values to write into the message (headers, attachments). */
  mutation?: Mutation | undefined;
}

/**
 * A codec instance frames one byte stream (one connection, one direction).
 * Instances may keep state, such as a format detected from the first bytes.
 */
export interface Codec {
  /** The protocol's name, e.g. "thrift", "dubbo". */
  readonly protocol: string;
  /**
   * Frames one whole message from the start of `buf`, or says more bytes are
   * needed. Throws a MeshError with code CODEC for bytes that can never be a
   * valid message (garbage, oversized frames). `continued` (from a stream
   * reader) says `buf` holds the bytes of the previous call, which answered
   * 'more', and more after them: a codec that has to scan for a message's end
   * may go on where it stopped, so a message arriving in many pieces costs
   * time linear in its size. Codecs may ignore it.
   */
  decode(buf: Buffer, direction: Direction, continued?: boolean): DecodeResult;
  /** The message's bytes with the request id rewritten and the mutation applied. */
  encode(message: Message, options?: EncodeOptions): Buffer;
  /**
   * A complete protocol-native error reply to `request` (TApplicationException
   * for Thrift, an error status for Dubbo). `request` is undefined when the
   * request itself could not be decoded.
   */
  encodeError(request: Message | undefined, error: MeshError): Buffer;
  /** The reply to a heartbeat request, for protocols that have heartbeats. */
  encodeHeartbeatReply?(heartbeat: Message): Buffer;
}

/** Makes codec instances; registered once per protocol. */
export interface CodecFactory {
  readonly protocol: string;
  /**
   * Tells apart factories of one protocol that put different bytes on the
   * wire (Thrift framed vs THeader, say). Upstream connections are shared only
   * by calls of one protocol and variant, so a server never sees its
   * connection change format.
   */
  readonly variant?: string;
  /**
   * The protocol's default connection model, as MetaProtocol Proxy's
   * `ApplicationProtocol.multiplexing`: true when its servers answer several
   * calls on one connection matched by request id (Dubbo), so calls share
   * sockets; false or unset when servers answer one call at a time per
   * connection (most Thrift servers), so each call in flight gets a pooled
   * connection of its own. A DestinationRule can override it per service.
   */
  readonly multiplexing?: boolean;
  create(): Codec;
}
