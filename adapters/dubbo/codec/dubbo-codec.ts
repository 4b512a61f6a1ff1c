// DubboCodec: frames dubbo2 messages (hessian2 serialization) out of a byte
// stream and exposes their routable metadata: `interface`, `method`,
// `version`, `group` and every attachment. Arguments and results are skipped,
// never built; encode rewrites the request id and splices mutated
// attachments in without touching the rest of the body.
import { Metadata, MeshError, MeshErrorCode, type Codec, type CodecFactory, type DecodeResult, type Direction, type EncodeOptions, type Message, type MessageType } from '../../../lib/protocol';
import {
  codecError,
  DEFAULT_MAX_BODY_SIZE,
  DubboStatus,
  FLAG_EVENT,
  FLAG_REQUEST,
  FLAG_TWO_WAY,
  HEADER_LENGTH,
  HESSIAN2,
  MAGIC_HIGH,
  MAGIC_LOW,
  readRequestId,
  ResultFlag,
  SERIALIZATION_MASK,
  serializationName,
} from './dubbo-frame';
import { DubboFrameState } from './dubbo-frame-state';
import { dubboEncode } from './dubbo-encode';
import { dubboErrorText, dubboHeartbeatReply, dubboStatusFor, dubboStatusReply } from './dubbo-error-reply';
import { HessianReader } from './hessian-reader';

export interface DubboCodecOptions {
  /** Largest body accepted, in bytes (default 8 MiB, Dubbo's default payload limit). */
  maxBodySize?: number | undefined;
}

const MORE_HEADER: DecodeResult = Object.freeze({ status: 'more', needed: HEADER_LENGTH });
const NO_METADATA = new Metadata();

export class DubboCodec implements Codec {
  readonly protocol = 'dubbo';
  readonly maxBodySize: number;
  private readonly reader = new HessianReader();

  constructor(options: DubboCodecOptions = {}) {
    const max = options.maxBodySize ?? DEFAULT_MAX_BODY_SIZE;
    if (!Number.isSafeInteger(max) || max < 1 || max > 0xffffffff) {
      throw new MeshError(MeshErrorCode.CONFIG, `dubbo codec: maxBodySize must be an integer from 1 to 4294967295 bytes, got ${max}`);
    }
    this.maxBodySize = max;
  }

  decode(buf: Buffer, _direction: Direction): DecodeResult {
    if (buf.length > 0 && buf[0] !== MAGIC_HIGH) throw notDubbo(buf);
    if (buf.length > 1 && buf[1] !== MAGIC_LOW) throw notDubbo(buf);
    if (buf.length < HEADER_LENGTH) return MORE_HEADER;
    const flags = buf[2]!;
    const serialization = flags & SERIALIZATION_MASK;
    if (serialization !== HESSIAN2) {
      throw codecError(
        `the peer uses serialization id ${serialization} (${serializationName(serialization)}); meta-mesh reads only hessian2 (id 2). ` +
          'Configure the Dubbo service or client with serialization="hessian2"',
      );
    }
    const bodyLength = buf.readUInt32BE(12);
    if (bodyLength > this.maxBodySize) {
      throw codecError(
        `a frame body of ${bodyLength} bytes exceeds maxBodySize (${this.maxBodySize} bytes); ` +
          'raise the dubbo codec option maxBodySize if such messages are expected',
      );
    }
    const total = HEADER_LENGTH + bodyLength;
    if (buf.length < total) return { status: 'more', needed: total };
    const frame = buf.length === total ? buf : buf.subarray(0, total);
    const message = (flags & FLAG_REQUEST) !== 0 ? this.request(frame, flags) : this.response(frame, flags);
    this.reader.release();
    return { status: 'done', message, consumed: total };
  }

  encode(message: Message, options?: EncodeOptions): Buffer {
    const out = dubboEncode(message, options, this.reader);
    this.reader.release();
    return out;
  }

  encodeError(request: Message | undefined, error: MeshError): Buffer {
    return dubboStatusReply(request?.requestId ?? 0, dubboStatusFor(error, request !== undefined), dubboErrorText(error));
  }

  encodeHeartbeatReply(heartbeat: Message): Buffer {
    return dubboHeartbeatReply(heartbeat.requestId);
  }

  /** The text of a non-OK response (its hessian2 string body), for error messages. */
  errorText(message: Message): string {
    const frame = message.frame;
    if (frame.length <= HEADER_LENGTH) return '';
    const r = this.reader;
    r.reset(frame, frame.length);
    try {
      if (r.isString(HEADER_LENGTH)) {
        r.readString(HEADER_LENGTH);
        return r.str;
      }
    } catch {
      // Not a string after all: fall back to the raw text, as dubbo-js does.
    } finally {
      r.release();
    }
    return frame.toString('utf8', HEADER_LENGTH);
  }

  private request(frame: Buffer, flags: number): Message {
    const requestId = readRequestId(frame);
    if ((flags & FLAG_EVENT) !== 0) {
      return { type: 'heartbeat', requestId, metadata: new Metadata(), frame, operationName: 'heartbeat', codecState: new DubboFrameState(flags, 0, frame.length, -1, '', '') };
    }
    const r = this.reader;
    const end = frame.length;
    r.reset(frame, end);
    let pos = r.skipAnyString(HEADER_LENGTH); // dubbo version
    pos = r.readString(pos);
    const path = r.str;
    pos = r.readString(pos);
    const serviceVersion = r.str;
    pos = r.readString(pos);
    const method = r.str;
    // Dubbox writes an int (-1) before the parameter types.
    if (pos < end && r.isInt(pos)) pos = r.readInt(pos);
    // The parameter types are only counted: when they are short ASCII, one pass
    // both proves the string's length and counts; anything else takes the
    // general path, which reports malformed input.
    let args = -1;
    const tag = pos < end ? frame[pos]! : 0xff;
    if (tag <= 0x1f || (tag >= 0x30 && tag <= 0x33 && pos + 1 < end)) {
      const at = tag <= 0x1f ? pos + 1 : pos + 2;
      const stop = at + (tag <= 0x1f ? tag : ((tag - 0x30) << 8) + frame[pos + 1]!);
      if (stop <= end) {
        args = countAsciiParameters(frame, at, stop);
        if (args >= 0) pos = stop;
      }
    }
    if (args < 0) {
      const typesStart = pos;
      pos = r.skipAnyString(pos);
      args = countParameters(frame, typesStart, pos);
    }
    for (let i = 0; i < args; i++) pos = r.skipValue(pos);
    const attachmentsStart = pos;
    const metadata = new Metadata();
    if (pos < end) this.readAttachments(pos, metadata);
    // The keys the codec derives from the invocation body are set after the
    // attachments, so a peer's attachment never overrides them (an attachment
    // `interface: Other` must not escape a rule on interface): `interface` is
    // the body's service path (as the reference has it), `method` the body's
    // method, and `version` the body's service version when it has one.
    const service = path;
    metadata.setLowerCased('interface', path);
    metadata.setLowerCased('method', method);
    if (serviceVersion !== '') metadata.setLowerCased('version', serviceVersion);
    const type: MessageType = (flags & FLAG_TWO_WAY) !== 0 ? 'request' : 'oneway';
    return {
      type,
      requestId,
      metadata,
      frame,
      operationName: `${service}/${method}`,
      codecState: new DubboFrameState(flags, 0, attachmentsStart, -1, service, method),
    };
  }

  private response(frame: Buffer, flags: number): Message {
    const requestId = readRequestId(frame);
    const status = frame[3]!;
    if ((flags & FLAG_EVENT) !== 0) {
      // A heartbeat reply answers nothing of ours; 'heartbeat' is kept for requests that need an answer.
      return { type: 'response', requestId, metadata: NO_METADATA, frame, operationName: 'heartbeat', ok: true, codecState: new DubboFrameState(flags, status, frame.length, -1, '', '') };
    }
    if (status !== DubboStatus.OK) {
      return { type: 'error', requestId, metadata: NO_METADATA, frame, operationName: '', ok: false, codecState: new DubboFrameState(flags, status, frame.length, -1, '', '') };
    }
    const r = this.reader;
    const end = frame.length;
    if (end === HEADER_LENGTH) throw codecError('an OK response has an empty body; it must start with a result flag');
    r.reset(frame, end);
    let pos = r.readInt(HEADER_LENGTH);
    const flag = r.int;
    if (flag < ResultFlag.EXCEPTION || flag > ResultFlag.NULL_VALUE_WITH_ATTACHMENTS) {
      throw codecError(`unknown result flag ${flag}; a Dubbo response body starts with 0 to 5`);
    }
    let metadata = NO_METADATA;
    let attachmentsStart = end;
    if (flag >= ResultFlag.EXCEPTION_WITH_ATTACHMENTS) {
      if (flag !== ResultFlag.NULL_VALUE_WITH_ATTACHMENTS) pos = r.skipValue(pos);
      attachmentsStart = pos;
      metadata = new Metadata();
      if (pos < end) this.readAttachments(pos, metadata);
    }
    const ok = flag !== ResultFlag.EXCEPTION && flag !== ResultFlag.EXCEPTION_WITH_ATTACHMENTS;
    return { type: 'response', requestId, metadata, frame, operationName: '', ok, codecState: new DubboFrameState(flags, status, attachmentsStart, flag, '', '') };
  }

  /** Puts every string (and number) attachment into `metadata`; other values are skipped. */
  private readAttachments(pos: number, metadata: Metadata): void {
    const r = this.reader;
    const buf = r.buf;
    const tag = buf[pos]!;
    if (tag === 0x4e) return; // null map
    if (tag === 0x4d) pos = r.isInt(pos + 1) ? r.readInt(pos + 1) : r.skipAnyString(pos + 1);
    else if (tag === 0x48) pos++;
    else throw codecError(`expected the attachments map at offset ${pos}, found byte 0x${tag.toString(16)}`);
    for (;;) {
      if (pos >= r.end) throw codecError('the attachments map has no terminator before the end of the body');
      if (buf[pos] === 0x5a) return;
      if (!r.isString(pos)) {
        pos = r.skipValue(r.skipValue(pos));
        continue;
      }
      pos = r.readKey(pos);
      const key = r.str;
      let value: string;
      if (r.isString(pos)) {
        pos = r.readString(pos);
        value = r.str;
      } else if (r.isInt(pos)) {
        pos = r.readInt(pos);
        value = String(r.int);
      } else {
        pos = r.skipValue(pos);
        continue;
      }
      metadata.setLowerCased(key, value);
    }
  }
}

/**
 * The number of parameters a JVM descriptor names (`Ljava/lang/String;IJ` is
 * three), counted over its bytes: class names may hold non-ASCII bytes, but
 * those never equal '[', 'L' or ';'.
 */
function countParameters(buf: Buffer, start: number, end: number): number {
  // Skip the string's length prefix.
  const tag = buf[start]!;
  let i = tag <= 0x1f ? start + 1 : tag <= 0x33 ? start + 2 : start + 3;
  let n = 0;
  while (i < end) {
    let c = buf[i]!;
    while (c === 0x5b && i + 1 < end) c = buf[++i]!; // '[' array prefixes
    if (c === 0x4c) {
      // 'L' ... ';'
      // Class names are short: a loop beats a native indexOf call.
      let semi = i + 1;
      while (semi < end && buf[semi] !== 0x3b) semi++;
      if (semi >= end) throw codecError(`the parameter types "${buf.toString('latin1', start, end)}" have an unterminated class name`);
      i = semi + 1;
    } else if (isPrimitive(c)) {
      i++;
    } else {
      throw codecError(`the parameter types hold "${String.fromCharCode(c)}" at offset ${i}, which is not a JVM type descriptor`);
    }
    n++;
  }
  return n;
}

/**
 * countParameters over buf[start, stop) for a descriptor written in ASCII;
 * -1 when a byte is not ASCII or the descriptor is malformed, for the caller
 * to retry on the general path.
 */
function countAsciiParameters(buf: Buffer, start: number, stop: number): number {
  let n = 0;
  let i = start;
  while (i < stop) {
    let c = buf[i]!;
    while (c === 0x5b && i + 1 < stop) c = buf[++i]!;
    if (c === 0x4c) {
      let semi = i + 1;
      let high = 0;
      for (; semi < stop; semi++) {
        const d = buf[semi]!;
        if (d === 0x3b) break;
        high |= d;
      }
      if (semi >= stop || high >= 0x80) return -1;
      i = semi + 1;
    } else if (isPrimitive(c)) {
      i++;
    } else {
      return -1;
    }
    n++;
  }
  return n;
}

/** Z B C D F I J S V: the JVM's primitive type letters. */
function isPrimitive(c: number): boolean {
  switch (c) {
    case 0x5a:
    case 0x42:
    case 0x43:
    case 0x44:
    case 0x46:
    case 0x49:
    case 0x4a:
    case 0x53:
    case 0x56:
      return true;
    default:
      return false;
  }
}

function notDubbo(buf: Buffer): MeshError {
  const seen = buf.subarray(0, Math.min(2, buf.length)).toString('hex');
  return codecError(`the bytes start with 0x${seen}, not the dubbo magic 0xdabb; the peer does not speak dubbo2 (or the stream lost its framing)`);
}

export function createDubboCodec(options?: DubboCodecOptions): DubboCodec {
  return new DubboCodec(options);
}

export const dubboCodecFactory: CodecFactory = {
  protocol: 'dubbo',
  // Dubbo carries a request id by design: calls share sockets, as MetaProtocol Proxy's Dubbo codec does.
  multiplexing: true,
  create: () => new DubboCodec(),
};
