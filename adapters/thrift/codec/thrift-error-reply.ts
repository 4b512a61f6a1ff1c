// A protocol-native error reply: a T_EXCEPTION message whose body is a
// TApplicationException {1: string message, 2: i32 type}, the same reply
// Aeraki's thrift codec writes for local errors.
import { MeshErrorCode } from '../../../lib/protocol/mesh-error';
import type { MeshError } from '../../../lib/protocol';
import { THEADER_FIXED_SIZE, tHeaderDataSize, writeTHeader } from './theader';
import { BinaryType, CompactType, MessageKind, type ThriftFormat } from './thrift-format';
import { varintSize, writeVarint32, zigzag32 } from './varint';

/** TApplicationException types used here. */
export const ApplicationExceptionType = { INTERNAL_ERROR: 6, PROTOCOL_ERROR: 7 } as const;

export interface ThriftErrorTarget {
  readonly format: ThriftFormat;
  /** The plain method name: Node's Multiplexer dispatches replies to recv_<name>. */
  readonly method: string;
  readonly seqid: number;
  /** THeader only: the flags and seqid of the request's header, echoed back. */
  readonly headerFlags?: number | undefined;
  readonly headerSeqid?: number | undefined;
}

const NO_HEADERS: ReadonlyArray<readonly [string, string]> = [];

export function thriftErrorReply(target: ThriftErrorTarget, error: MeshError): Buffer {
  const text = Buffer.from(`[meta-mesh ${error.code}] ${error.message}`, 'utf8');
  const type = error.code === MeshErrorCode.CODEC ? ApplicationExceptionType.PROTOCOL_ERROR : ApplicationExceptionType.INTERNAL_ERROR;
  const name = Buffer.from(target.method, 'utf8');
  const { transport, protocol } = target.format;
  const binary = protocol === 'binary';
  const payloadLen = binary
    ? 12 + name.length + (3 + 4 + text.length) + (3 + 4) + 1
    : 2 + varintSize(target.seqid) + varintSize(name.length) + name.length +
      (1 + varintSize(text.length) + text.length) + (1 + varintSize(zigzag32(type))) + 1;

  let out: Buffer;
  let pos: number;
  if (transport === 'header') {
    const dataSize = tHeaderDataSize(NO_HEADERS);
    out = Buffer.alloc(THEADER_FIXED_SIZE + dataSize + payloadLen);
    pos = writeTHeader(
      out,
      0,
      target.headerFlags ?? 0,
      target.headerSeqid ?? target.seqid,
      protocol,
      NO_HEADERS,
      dataSize,
      payloadLen,
    );
  } else if (transport === 'framed') {
    out = Buffer.alloc(4 + payloadLen);
    out.writeUInt32BE(payloadLen, 0);
    pos = 4;
  } else {
    out = Buffer.alloc(payloadLen);
    pos = 0;
  }

  if (binary) {
    out.writeInt32BE((0x80010000 | MessageKind.EXCEPTION) | 0, pos);
    out.writeInt32BE(name.length, pos + 4);
    pos += 8 + name.copy(out, pos + 8);
    out.writeInt32BE(target.seqid | 0, pos);
    pos += 4;
    out[pos] = BinaryType.STRING;
    out.writeInt16BE(1, pos + 1);
    out.writeInt32BE(text.length, pos + 3);
    pos += 7 + text.copy(out, pos + 7);
    out[pos] = BinaryType.I32;
    out.writeInt16BE(2, pos + 1);
    out.writeInt32BE(type, pos + 3);
    pos += 7;
  } else {
    out[pos++] = 0x82;
    out[pos++] = (MessageKind.EXCEPTION << 5) | 1;
    pos = writeVarint32(out, pos, target.seqid);
    pos = writeVarint32(out, pos, name.length);
    pos += name.copy(out, pos);
    out[pos++] = (1 << 4) | CompactType.BINARY;
    pos = writeVarint32(out, pos, text.length);
    pos += text.copy(out, pos);
    out[pos++] = (1 << 4) | CompactType.I32;
    pos = writeVarint32(out, pos, zigzag32(type));
  }
  out[pos] = BinaryType.STOP;
  return out;
}
