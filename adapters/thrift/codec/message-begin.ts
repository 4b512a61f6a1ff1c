// Reads a message header (name, type, seqid) in the binary or compact
// protocol and records where each part sits, so encode can rewrite the seqid
// in a copy without parsing anything again.
import { COMPACT_PROTOCOL_ID, COMPACT_VERSION, MessageKind, type ThriftProtocol } from './thrift-format';
import { codecError, MORE, type Scan } from './scan';
import { readVarint32 } from './varint';

/** Where the parts of one message header sit in the buffer (reused per codec). */
export class MessageBegin {
  kind = 0;
  seqid = 0;
  nameStart = 0;
  nameEnd = 0;
  /** Binary: the i32 seqid; compact: the seqid varint (seqEnd - seqStart bytes). */
  seqStart = 0;
  seqEnd = 0;
  /** Binary only: false for the old header without a version word. */
  strict = true;
}

/**
 * Parses the message header at `pos`, reading no further than `end`. Returns
 * the position of the body struct, or MORE with scan.needed.
 */
export function readMessageBegin(
  buf: Buffer,
  pos: number,
  end: number,
  protocol: ThriftProtocol,
  maxFrameSize: number,
  scan: Scan,
  out: MessageBegin,
): number {
  return protocol === 'binary'
    ? readBinaryBegin(buf, pos, end, maxFrameSize, scan, out)
    : readCompactBegin(buf, pos, end, maxFrameSize, scan, out);
}

function readBinaryBegin(buf: Buffer, pos: number, end: number, max: number, scan: Scan, out: MessageBegin): number {
  if (pos + 4 > end) return scan.more(pos + 4);
  const word = buf.readInt32BE(pos);
  let nameLen: number;
  if (word < 0) {
    if ((word & 0xffff0000) !== (0x80010000 | 0)) {
      throw codecError(`bad binary protocol version 0x${(word >>> 0).toString(16)} at offset ${pos}; expected 0x8001`);
    }
    out.strict = true;
    out.kind = word & 0xff;
    if (pos + 8 > end) return scan.more(pos + 8);
    nameLen = buf.readInt32BE(pos + 4);
    out.nameStart = pos + 8;
  } else {
    // Old non-strict header: i32 name length, name, i8 type, i32 seqid.
    out.strict = false;
    nameLen = word;
    out.nameStart = pos + 4;
  }
  checkNameLength(nameLen, max, pos);
  out.nameEnd = out.nameStart + nameLen;
  let p = out.nameEnd;
  if (!out.strict) {
    if (p + 1 > end) return scan.more(p + 1);
    out.kind = buf[p++]!;
  }
  checkKind(out.kind, pos);
  if (p + 4 > end) return scan.more(p + 4);
  out.seqStart = p;
  out.seqEnd = p + 4;
  out.seqid = buf.readInt32BE(p);
  return p + 4;
}

function readCompactBegin(buf: Buffer, pos: number, end: number, max: number, scan: Scan, out: MessageBegin): number {
  if (pos + 2 > end) return scan.more(pos + 2);
  if (buf[pos] !== COMPACT_PROTOCOL_ID) {
    throw codecError(`bad compact protocol id 0x${buf[pos]!.toString(16)} at offset ${pos}; expected 0x82`);
  }
  const vt = buf[pos + 1]!;
  if ((vt & 0x1f) !== COMPACT_VERSION) {
    throw codecError(`unsupported compact protocol version ${vt & 0x1f} at offset ${pos + 1}; expected 1`);
  }
  out.strict = true;
  out.kind = vt >>> 5;
  checkKind(out.kind, pos);
  out.seqStart = pos + 2;
  let p = readVarint32(buf, pos + 2, end, scan);
  if (p === MORE) return MORE;
  out.seqEnd = p;
  out.seqid = scan.value | 0;
  p = readVarint32(buf, p, end, scan);
  if (p === MORE) return MORE;
  const nameLen = scan.value;
  checkNameLength(nameLen > 0x7fffffff ? -1 : nameLen, max, pos);
  out.nameStart = p;
  out.nameEnd = p + nameLen;
  return out.nameEnd <= end ? out.nameEnd : scan.more(out.nameEnd);
}

function checkKind(kind: number, pos: number): void {
  if (kind < MessageKind.CALL || kind > MessageKind.ONEWAY) {
    throw codecError(`unknown message type ${kind} in the message header at offset ${pos}; expected 1 (call) to 4 (oneway)`);
  }
}

function checkNameLength(len: number, max: number, pos: number): void {
  if (len < 0) throw codecError(`negative method name length in the message header at offset ${pos}`);
  if (len > max) {
    throw codecError(`method name length ${len} at offset ${pos} exceeds maxFrameSize ${max}; the bytes are not a Thrift message`);
  }
}
