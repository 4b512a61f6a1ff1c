// The dubbo2 frame: a 16-byte header (magic, flags, status, request id, body
// length) before a hessian2 body. Constants and header helpers shared by the
// codec, the error replies and the provider.
import { MeshError, MeshErrorCode } from '../../../lib/protocol';

export const HEADER_LENGTH = 16;
export const MAGIC_HIGH = 0xda;
export const MAGIC_LOW = 0xbb;
export const FLAG_REQUEST = 0x80;
export const FLAG_TWO_WAY = 0x40;
export const FLAG_EVENT = 0x20;
export const SERIALIZATION_MASK = 0x1f;
export const HESSIAN2 = 2;
/** dubbo-js refuses to send bodies over 8 MiB, and so does Java's default payload limit. */
export const DEFAULT_MAX_BODY_SIZE = 8 * 1024 * 1024;

/** Response status byte values (org.apache.dubbo.remoting.exchange.Response). */
export const DubboStatus = {
  OK: 20,
  CLIENT_TIMEOUT: 30,
  SERVER_TIMEOUT: 31,
  BAD_REQUEST: 40,
  BAD_RESPONSE: 50,
  SERVICE_NOT_FOUND: 60,
  SERVICE_ERROR: 70,
  SERVER_ERROR: 80,
  CLIENT_ERROR: 90,
  SERVER_THREADPOOL_EXHAUSTED: 100,
} as const;

/** The int flag that opens a response body (DecodeableRpcResult). */
export const ResultFlag = {
  EXCEPTION: 0,
  VALUE: 1,
  NULL_VALUE: 2,
  EXCEPTION_WITH_ATTACHMENTS: 3,
  VALUE_WITH_ATTACHMENTS: 4,
  NULL_VALUE_WITH_ATTACHMENTS: 5,
} as const;

/** Serialization ids Dubbo assigns, to name the one a peer used when it is not hessian2. */
const SERIALIZATION_NAMES: Record<number, string> = {
  2: 'hessian2',
  3: 'java',
  4: 'compactedjava',
  6: 'fastjson',
  7: 'nativejava',
  8: 'kryo',
  9: 'fst',
  10: 'native-hessian',
  11: 'protostuff',
  12: 'avro',
  21: 'protobuf-json',
  22: 'protobuf',
  25: 'gson',
};

export function serializationName(id: number): string {
  return SERIALIZATION_NAMES[id] ?? 'unknown';
}

export function codecError(message: string): MeshError {
  return new MeshError(MeshErrorCode.CODEC, `dubbo codec: ${message}`);
}

/** The frame's request id: a number when it fits in 53 bits (always, for ids meta-mesh or dubbo-js allocate), else a bigint. */
export function readRequestId(buf: Buffer): number | bigint {
  const hi = buf.readUInt32BE(4);
  const lo = buf.readUInt32BE(8);
  return hi < 0x200000 ? hi * 0x100000000 + lo : buf.readBigUInt64BE(4);
}

export function writeRequestId(buf: Buffer, id: number | bigint): void {
  if (typeof id === 'bigint') {
    buf.writeBigUInt64BE(BigInt.asUintN(64, id), 4);
    return;
  }
  if (!Number.isSafeInteger(id) || id < 0) throw codecError(`request id ${id} is not a non-negative integer`);
  buf.writeUInt32BE(Math.floor(id / 0x100000000), 4);
  buf.writeUInt32BE(id >>> 0, 8);
}

/** A response header: hessian2, the given status and request id, and the body length. */
export function responseHeader(id: number | bigint, status: number, bodyLength: number, event = false): Buffer {
  const header = Buffer.allocUnsafe(HEADER_LENGTH);
  header[0] = MAGIC_HIGH;
  header[1] = MAGIC_LOW;
  header[2] = HESSIAN2 | (event ? FLAG_EVENT : 0);
  header[3] = status;
  writeRequestId(header, id);
  header.writeUInt32BE(bodyLength, 12);
  return header;
}
