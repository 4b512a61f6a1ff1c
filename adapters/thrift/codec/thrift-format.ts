// The Thrift transports and protocols the codec speaks, and the wire
// constants shared by its readers and writers.

export type ThriftTransport = 'framed' | 'unframed' | 'header';
export type ThriftProtocol = 'binary' | 'compact';

export interface ThriftFormat {
  readonly transport: ThriftTransport;
  readonly protocol: ThriftProtocol;
}

/** Shared immutable format objects, so decoding one message allocates none. */
export const ThriftFormats = {
  framedBinary: Object.freeze({ transport: 'framed', protocol: 'binary' }) as ThriftFormat,
  framedCompact: Object.freeze({ transport: 'framed', protocol: 'compact' }) as ThriftFormat,
  unframedBinary: Object.freeze({ transport: 'unframed', protocol: 'binary' }) as ThriftFormat,
  unframedCompact: Object.freeze({ transport: 'unframed', protocol: 'compact' }) as ThriftFormat,
  headerBinary: Object.freeze({ transport: 'header', protocol: 'binary' }) as ThriftFormat,
  headerCompact: Object.freeze({ transport: 'header', protocol: 'compact' }) as ThriftFormat,
} as const;

export function thriftFormat(transport: ThriftTransport, protocol: ThriftProtocol): ThriftFormat {
  if (transport === 'framed') return protocol === 'binary' ? ThriftFormats.framedBinary : ThriftFormats.framedCompact;
  if (transport === 'unframed') return protocol === 'binary' ? ThriftFormats.unframedBinary : ThriftFormats.unframedCompact;
  return protocol === 'binary' ? ThriftFormats.headerBinary : ThriftFormats.headerCompact;
}

/** A format, or the part of one that is fixed or known (`any` for the rest). */
export function formatName(format: { readonly transport?: ThriftTransport | undefined; readonly protocol?: ThriftProtocol | undefined }): string {
  return `${format.transport ?? 'any transport'}/${format.protocol ?? 'any protocol'}`;
}

/** Thrift message types (TMessageType). */
export const MessageKind = { CALL: 1, REPLY: 2, EXCEPTION: 3, ONEWAY: 4 } as const;

/** Binary protocol type ids (TType). */
export const BinaryType = {
  STOP: 0,
  BOOL: 2,
  BYTE: 3,
  DOUBLE: 4,
  I16: 6,
  I32: 8,
  I64: 10,
  STRING: 11,
  STRUCT: 12,
  MAP: 13,
  SET: 14,
  LIST: 15,
  UUID: 16,
} as const;

/** Compact protocol type ids (the low nibble of a field header). */
export const CompactType = {
  STOP: 0,
  BOOLEAN_TRUE: 1,
  BOOLEAN_FALSE: 2,
  BYTE: 3,
  I16: 4,
  I32: 5,
  I64: 6,
  DOUBLE: 7,
  BINARY: 8,
  LIST: 9,
  SET: 10,
  MAP: 11,
  STRUCT: 12,
  UUID: 13,
} as const;

export const COMPACT_PROTOCOL_ID = 0x82;
export const COMPACT_VERSION = 1;
export const THEADER_MAGIC = 0x0fff;
/** THeader protocol ids; JSON (1) is not spoken here. */
export const THeaderProtocolId = { BINARY: 0, COMPACT: 2 } as const;
export const THEADER_INFO_KEY_VALUE = 1;

/** Deepest struct/collection nesting a message may have; guards the recursive skipper. */
export const MAX_NESTING_DEPTH = 64;
export const DEFAULT_MAX_FRAME_SIZE = 16 * 1024 * 1024;
