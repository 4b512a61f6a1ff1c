// THeader framing: reads the header block of a complete THeader frame and
// writes one. Layout: u32 length, u16 magic 0x0FFF, u16 flags, u32 seqid,
// u16 header size in 4-byte words, then varint protocol id, varint transform
// count (+ ids), info blocks, zero padding; then the bare message.
// Transform 1 (zlib) compresses the message; the codec inflates it with
// node:zlib. Other transforms (hmac, snappy, qlz, zstd) are refused.
import { MORE, Scan, codecError } from './scan';
import { THEADER_INFO_KEY_VALUE, THeaderProtocolId, type ThriftProtocol } from './thrift-format';
import { readVarint32, varintSize, writeVarint32 } from './varint';

/** The header facts of one decoded THeader frame. */
export interface THeaderInfo {
  readonly flags: number;
  readonly seqid: number;
  readonly protocol: ThriftProtocol;
  /** Info key/values as sent (original spelling and order). */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  /** Transform ids applied to the payload, in order (only zlib gets this far). */
  readonly transforms: readonly number[];
}

/** THeader transform id of zlib (the only one meta-mesh applies). */
export const THEADER_TRANSFORM_ZLIB = 1;

/** Bytes before the header data: length, magic, flags, seqid, header size. */
export const THEADER_FIXED_SIZE = 14;

const TRANSFORM_NAMES: Record<number, string> = { 1: 'zlib', 2: 'hmac', 3: 'snappy', 4: 'qlz', 5: 'zstd' };
const NO_HEADERS: ReadonlyArray<readonly [string, string]> = Object.freeze([]);
const NO_TRANSFORMS: readonly number[] = Object.freeze([]);
/** More transforms than any client applies: a header claiming more is not a THeader frame. */
const MAX_TRANSFORMS = 8;

/**
 * Reads the header block of the complete frame buf[0, frameEnd). Returns the
 * facts and sets scan.value to where the payload starts.
 */
export function readTHeader(buf: Buffer, frameEnd: number, scan: Scan): THeaderInfo {
  if (frameEnd < THEADER_FIXED_SIZE) throw codecError(`THeader frame of ${frameEnd} bytes is shorter than its fixed header`);
  const flags = buf.readUInt16BE(6);
  const seqid = buf.readInt32BE(8);
  const headerEnd = THEADER_FIXED_SIZE + buf.readUInt16BE(12) * 4;
  if (headerEnd > frameEnd) {
    throw codecError(`THeader header size ${headerEnd - THEADER_FIXED_SIZE} runs past the frame end (${frameEnd} bytes)`);
  }
  let pos = varint(buf, THEADER_FIXED_SIZE, headerEnd, scan);
  const protocolId: number = scan.value;
  let protocol: ThriftProtocol;
  if (protocolId === THeaderProtocolId.BINARY) protocol = 'binary';
  else if (protocolId === THeaderProtocolId.COMPACT) protocol = 'compact';
  else {
    const name = protocolId === 1 ? ' (JSON)' : '';
    throw codecError(`THeader protocol id ${protocolId}${name} is not supported; have the client use binary (0) or compact (2)`);
  }
  pos = varint(buf, pos, headerEnd, scan);
  const count: number = scan.value;
  if (count > MAX_TRANSFORMS) throw codecError(`THeader claims ${count} transforms; at most ${MAX_TRANSFORMS} are accepted`);
  let transforms = NO_TRANSFORMS;
  if (count > 0) {
    const ids: number[] = [];
    for (let i = 0; i < count; i++) {
      pos = varint(buf, pos, headerEnd, scan);
      const id: number = scan.value;
      if (id !== THEADER_TRANSFORM_ZLIB) {
        throw codecError(
          `THeader transform ${id} (${TRANSFORM_NAMES[id] ?? 'unknown'}) is not supported; meta-mesh reads zlib (1) only, so turn the others off on the client`,
        );
      }
      ids.push(id);
    }
    transforms = ids;
  }
  let headers = NO_HEADERS;
  while (pos < headerEnd) {
    pos = varint(buf, pos, headerEnd, scan);
    const infoType: number = scan.value;
    // Zero is padding; unknown info types end the block, as in the C++, Python and Node libraries.
    if (infoType !== THEADER_INFO_KEY_VALUE) break;
    pos = varint(buf, pos, headerEnd, scan);
    const count = scan.value;
    if (count * 2 > headerEnd - pos) throw codecError(`THeader claims ${count} headers, more than its header block can hold`);
    const pairs: Array<readonly [string, string]> = headers === NO_HEADERS ? [] : (headers as Array<readonly [string, string]>);
    for (let i = 0; i < count; i++) {
      pos = varint(buf, pos, headerEnd, scan);
      const kEnd = pos + scan.value;
      if (kEnd > headerEnd) throw codecError('a THeader key runs past the header block');
      const key = buf.toString('utf8', pos, kEnd);
      pos = varint(buf, kEnd, headerEnd, scan);
      const vEnd = pos + scan.value;
      if (vEnd > headerEnd) throw codecError('a THeader value runs past the header block');
      pairs.push([key, buf.toString('utf8', pos, vEnd)]);
      pos = vEnd;
    }
    headers = pairs;
  }
  scan.value = headerEnd;
  return { flags, seqid, protocol, headers, transforms };
}

function varint(buf: Buffer, pos: number, end: number, scan: Scan): number {
  const next = readVarint32(buf, pos, end, scan);
  if (next === MORE) throw codecError('the THeader header block ends inside a varint');
  return next;
}

/** Size of the header data (protocol id .. padding) for these headers. */
export function tHeaderDataSize(headers: ReadonlyArray<readonly [string, string]>): number {
  let n = 2; // protocol id and transform count: one byte each
  if (headers.length > 0) {
    n += 1 + varintSize(headers.length);
    for (const [k, v] of headers) {
      const kl = Buffer.byteLength(k);
      const vl = Buffer.byteLength(v);
      n += varintSize(kl) + kl + varintSize(vl) + vl;
    }
  }
  const size = (n + 3) & ~3;
  if (size / 4 > 0xffff) throw codecError(`THeader headers need ${size} bytes; the format allows ${0xffff * 4}`);
  return size;
}

/**
 * Writes the fixed THeader fields and the header data at `pos`, for a frame
 * whose payload is `payloadLength` bytes; returns where the payload goes.
 */
export function writeTHeader(
  out: Buffer,
  pos: number,
  flags: number,
  seqid: number,
  protocol: ThriftProtocol,
  headers: ReadonlyArray<readonly [string, string]>,
  dataSize: number,
  payloadLength: number,
): number {
  out.writeUInt32BE(10 + dataSize + payloadLength, pos);
  out.writeUInt16BE(0x0fff, pos + 4);
  out.writeUInt16BE(flags & 0xffff, pos + 6);
  out.writeInt32BE(seqid | 0, pos + 8);
  out.writeUInt16BE(dataSize / 4, pos + 12);
  const dataStart = pos + THEADER_FIXED_SIZE;
  let p = dataStart;
  out[p++] = protocol === 'binary' ? THeaderProtocolId.BINARY : THeaderProtocolId.COMPACT;
  out[p++] = 0;
  if (headers.length > 0) {
    out[p++] = THEADER_INFO_KEY_VALUE;
    p = writeVarint32(out, p, headers.length);
    for (const [k, v] of headers) {
      p = writeString(out, p, k);
      p = writeString(out, p, v);
    }
  }
  const dataEnd = dataStart + dataSize;
  out.fill(0, p, dataEnd);
  return dataEnd;
}

function writeString(out: Buffer, pos: number, s: string): number {
  const len = Buffer.byteLength(s);
  pos = writeVarint32(out, pos, len);
  return pos + out.write(s, pos, len, 'utf8');
}
