// Tells a message's transport (and, outside THeader, its protocol) from its
// first bytes, as Envoy's and Python's "auto" transports do, and names what
// was seen when the bytes are not Thrift at all.
import { COMPACT_PROTOCOL_ID, COMPACT_VERSION, THEADER_MAGIC } from './thrift-format';
import { codecError, MORE, type Scan } from './scan';

export const FrameKind = {
  UNFRAMED_BINARY: 0,
  UNFRAMED_COMPACT: 1,
  FRAMED_BINARY: 2,
  FRAMED_COMPACT: 3,
  /** Protocol comes from the THeader protocol id. */
  HEADER: 4,
} as const;
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

/** Longest method name accepted when guessing at the old non-strict binary header. */
const MAX_GUESSED_NAME = 4096;

/**
 * Returns the FrameKind of the message at the start of `buf`, or MORE when
 * too few bytes arrived to tell. Framed lengths above `maxFrameSize` throw.
 */
export function detectFormat(buf: Buffer, maxFrameSize: number, scan: Scan): FrameKind | typeof MORE {
  const n = buf.length;
  if (n < 2) return scan.more(2) as typeof MORE;
  const b0 = buf[0]!;
  if (b0 === 0x80) {
    if (buf[1] === 0x01) return FrameKind.UNFRAMED_BINARY;
    throw notThrift(buf);
  }
  if (b0 === COMPACT_PROTOCOL_ID) {
    if ((buf[1]! & 0x1f) === COMPACT_VERSION) return FrameKind.UNFRAMED_COMPACT;
    throw notThrift(buf);
  }
  if (n < 6) return scan.more(6) as typeof MORE;
  const b4 = buf[4]!;
  const b5 = buf[5]!;
  let kind: FrameKind | undefined;
  if (((b4 << 8) | b5) === THEADER_MAGIC) kind = FrameKind.HEADER;
  else if (b4 === 0x80 && b5 === 0x01) kind = FrameKind.FRAMED_BINARY;
  else if (b4 === COMPACT_PROTOCOL_ID && (b5 & 0x1f) === COMPACT_VERSION) kind = FrameKind.FRAMED_COMPACT;
  if (kind !== undefined) {
    const length = buf.readUInt32BE(0);
    if (length > maxFrameSize) throw frameTooLarge(length, maxFrameSize);
    return kind;
  }
  return guessNonStrict(buf, scan);
}

/**
 * The old binary header starts with the name's length, then the name: accept
 * it only when the length is small and the name is printable, so random
 * bytes and other protocols fail fast instead of waiting for gigabytes.
 */
function guessNonStrict(buf: Buffer, scan: Scan): FrameKind | typeof MORE {
  const len = buf.readUInt32BE(0);
  if (len === 0 || len > MAX_GUESSED_NAME) throw notThrift(buf);
  const nameEnd = 4 + len;
  const seen = Math.min(nameEnd, buf.length);
  for (let i = 4; i < seen; i++) {
    const c = buf[i]!;
    if (c <= 0x20 || c >= 0x7f) throw notThrift(buf);
  }
  if (buf.length <= nameEnd) return scan.more(nameEnd + 1) as typeof MORE;
  const type = buf[nameEnd]!;
  if (type < 1 || type > 4) throw notThrift(buf);
  return FrameKind.UNFRAMED_BINARY;
}

export function frameTooLarge(size: number, max: number): Error {
  return codecError(
    `a frame of ${size} bytes exceeds maxFrameSize (${max} bytes); raise the thrift codec option maxFrameSize if messages this large are expected`,
  );
}

const HTTP_PREFIXES = ['GET ', 'POST', 'PUT ', 'HEAD', 'DELE', 'OPTI', 'PATC', 'CONN', 'TRAC', 'HTTP', 'PRI '];

function notThrift(buf: Buffer): Error {
  const head = buf.subarray(0, 16);
  const hex = head.toString('hex').replace(/(..)(?!$)/g, '$1 ');
  const start = buf.toString('latin1', 0, 4);
  const http = HTTP_PREFIXES.includes(start) ? ' (looks like HTTP: send Thrift over a TCP port, not HTTP)' : '';
  const tls = buf[0] === 0x16 && buf[1] === 0x03 ? ' (looks like a TLS handshake: this port expects plaintext Thrift)' : '';
  return codecError(
    `the first bytes ${hex}${buf.length > 16 ? ' ...' : ''}${http}${tls} are not a Thrift message; ` +
      'expected framed, unframed or THeader transport with the binary or compact protocol',
  );
}
