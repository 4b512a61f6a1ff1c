// ThriftCodec: frames Thrift messages (framed, unframed or THeader transport;
// binary or compact protocol) out of one byte stream, exposes their routable
// metadata, and re-emits them with a new seqid, merged THeader headers or a
// different transport. Bodies are never deserialized: framed messages are
// located by their length, unframed ones by skipping the struct tree.
// A zlib-transformed THeader message is inflated once, on decode, into a plain
// THeader frame: everything after (routing, re-encoding upstream) sees that.
import { inflateSync } from 'node:zlib';
import { Metadata } from '../../../lib/protocol/metadata';
import { MeshError, MeshErrorCode } from '../../../lib/protocol/mesh-error';
import type { Codec, CodecFactory, DecodeResult, Direction, Message, MessageType } from '../../../lib/protocol';
import { skipStruct } from './binary-skip';
import { skipCompactStruct } from './compact-skip';
import { detectFormat, FrameKind, frameTooLarge } from './detect-format';
import { ThriftFrameState } from './frame-state';
import { MessageBegin, readMessageBegin } from './message-begin';
import { methodNames } from './name-cache';
import { codecError, MORE, Scan } from './scan';
import { readTHeader, tHeaderDataSize, THEADER_FIXED_SIZE, writeTHeader, type THeaderInfo } from './theader';
import { UnframedResume } from './unframed-resume';
import { thriftEncode, type ThriftEncodeOptions } from './thrift-encode';

export type { ThriftEncodeOptions } from './thrift-encode';
import { thriftErrorReply } from './thrift-error-reply';
import {
  DEFAULT_MAX_FRAME_SIZE,
  formatName,
  MessageKind,
  thriftFormat,
  type ThriftFormat,
  type ThriftProtocol,
  type ThriftTransport,
} from './thrift-format';
import { readVarint32 } from './varint';

export interface ThriftCodecOptions {
  /** Largest frame (or unframed message) accepted, in bytes. Default 16 MiB. */
  maxFrameSize?: number | undefined;
  /**
   * Fix the transport and/or protocol instead of detecting them. A fixed
   * transport is also what encode writes when its options name none.
   */
  format?: Partial<ThriftFormat> | undefined;
}

const MESSAGE_TYPES: ReadonlyArray<MessageType> = ['error', 'request', 'response', 'error', 'oneway'];
const MORE_UNKNOWN: DecodeResult = Object.freeze({ status: 'more' });
const TRANSPORTS: ReadonlyArray<string> = ['framed', 'unframed', 'header'];
const PROTOCOLS: ReadonlyArray<string> = ['binary', 'compact'];

export class ThriftCodec implements Codec {
  readonly protocol = 'thrift';
  readonly maxFrameSize: number;
  private readonly fixed: Partial<ThriftFormat>;
  private detected: ThriftFormat | undefined;
  /** Flags and seqid of the last THeader frame seen, so a refusal of it is answered in THeader too. */
  private lastHeader: { readonly flags: number; readonly seqid: number } | undefined;
  // Reused out-parameters of the readers: decoding one message allocates only what it returns.
  private readonly scan = new Scan();
  private readonly begin = new MessageBegin();
  /** The walk of an unframed message that has not all arrived (see unframed-resume.ts). */
  private resume: { readonly walk: UnframedResume; readonly bodyStart: number } | undefined;

  constructor(options: ThriftCodecOptions = {}) {
    const max = options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE;
    if (!Number.isSafeInteger(max) || max < 16) {
      throw new MeshError(MeshErrorCode.CONFIG, `thrift codec: maxFrameSize must be an integer of at least 16 bytes, got ${max}`);
    }
    const format = options.format ?? {};
    if (format.transport !== undefined && !TRANSPORTS.includes(format.transport)) {
      throw new MeshError(MeshErrorCode.CONFIG, `thrift codec: format.transport must be framed, unframed or header, got "${format.transport}"`);
    }
    if (format.protocol !== undefined && !PROTOCOLS.includes(format.protocol)) {
      throw new MeshError(MeshErrorCode.CONFIG, `thrift codec: format.protocol must be binary or compact, got "${format.protocol}"`);
    }
    this.maxFrameSize = max;
    this.fixed = { ...format };
  }

  /** The stream's format: detected from its first message, else the fixed one when complete. */
  get format(): ThriftFormat | undefined {
    if (this.detected !== undefined) return this.detected;
    const { transport, protocol } = this.fixed;
    return transport !== undefined && protocol !== undefined ? thriftFormat(transport, protocol) : undefined;
  }

  decode(buf: Buffer, direction: Direction, continued = false): DecodeResult {
    // An unframed message walked in part: go on where the walk stopped.
    const resume = this.resume;
    if (resume !== undefined) {
      this.resume = undefined;
      if (continued) return this.resumeUnframed(buf, resume);
    }
    const kind = detectFormat(buf, this.maxFrameSize, this.scan);
    switch (kind) {
      case MORE:
        return MORE_UNKNOWN;
      case FrameKind.HEADER:
        return this.decodeHeader(buf, direction);
      case FrameKind.FRAMED_BINARY:
        return this.decodeFramed(buf, 'binary', direction);
      case FrameKind.FRAMED_COMPACT:
        return this.decodeFramed(buf, 'compact', direction);
      case FrameKind.UNFRAMED_BINARY:
        return this.decodeUnframed(buf, 'binary', direction);
      default:
        return this.decodeUnframed(buf, 'compact', direction);
    }
  }

  encode(message: Message, options?: ThriftEncodeOptions): Buffer {
    return thriftEncode(message, options, this.fixed.transport);
  }

  encodeError(request: Message | undefined, error: MeshError): Buffer {
    const state = request?.codecState;
    if (state instanceof ThriftFrameState) {
      return thriftErrorReply(
        {
          format: state.format,
          method: state.method,
          seqid: state.seqid,
          headerFlags: state.header?.flags,
          headerSeqid: state.header?.seqid,
        },
        error,
      );
    }
    const format = this.detected ?? thriftFormat(this.fixed.transport ?? 'framed', this.fixed.protocol ?? 'binary');
    const header = format.transport === 'header' ? this.lastHeader : undefined;
    return thriftErrorReply({ format, method: '', seqid: header?.seqid ?? 0, headerFlags: header?.flags, headerSeqid: header?.seqid }, error);
  }

  private decodeFramed(buf: Buffer, protocol: ThriftProtocol, direction: Direction): DecodeResult {
    this.expect('framed', protocol, direction);
    const total = 4 + buf.readUInt32BE(0);
    if (buf.length < total) return { status: 'more', needed: total };
    const bodyStart = readMessageBegin(buf, 4, total, protocol, this.maxFrameSize, this.scan, this.begin);
    if (bodyStart === MORE) throw codecError(`a frame of ${total - 4} bytes ends inside its message header`);
    return this.done(frameOf(buf, total), thriftFormat('framed', protocol), 4, bodyStart, undefined);
  }

  private decodeHeader(buf: Buffer, direction: Direction): DecodeResult {
    this.expect('header', undefined, direction);
    const total = 4 + buf.readUInt32BE(0);
    if (buf.length < total) return { status: 'more', needed: total };
    let header: THeaderInfo;
    try {
      header = readTHeader(buf, total, this.scan);
    } catch (err) {
      this.refusedHeader(buf, total);
      throw err;
    }
    this.lastHeader = header;
    this.expect('header', header.protocol, direction);
    if (header.transforms.length > 0) return this.decodeInflated(buf, total, header);
    const payloadStart = this.scan.value;
    const bodyStart = readMessageBegin(buf, payloadStart, total, header.protocol, this.maxFrameSize, this.scan, this.begin);
    if (bodyStart === MORE) throw codecError(`a THeader frame of ${total - 4} bytes ends inside its message header`);
    return this.done(frameOf(buf, total), thriftFormat('header', header.protocol), payloadStart, bodyStart, header);
  }

  /**
   * A frame the header reader refused is still a THeader frame: remember that
   * (and its seqid), so the refusal goes back as THeader, which is all a
   * THeader client reads.
   */
  private refusedHeader(buf: Buffer, total: number): void {
    if (total >= THEADER_FIXED_SIZE) this.lastHeader = { flags: buf.readUInt16BE(6), seqid: buf.readInt32BE(8) };
    if (this.detected === undefined && (this.fixed.transport === undefined || this.fixed.transport === 'header')) {
      const id = total > THEADER_FIXED_SIZE ? buf[THEADER_FIXED_SIZE] : undefined;
      this.detected = thriftFormat('header', this.fixed.protocol ?? (id === 2 ? 'compact' : 'binary'));
    }
  }

  /** Inflates a zlib-transformed payload into a plain THeader frame (same flags, seqid and headers), then decodes that. */
  private decodeInflated(buf: Buffer, total: number, header: THeaderInfo): DecodeResult {
    let payload = buf.subarray(this.scan.value, total);
    for (let i = 0; i < header.transforms.length; i++) {
      try {
        // Bounded: a small payload cannot inflate past the frame limit (a zlib bomb stops there).
        payload = inflateSync(payload, { maxOutputLength: this.maxFrameSize });
      } catch (err) {
        const tooLarge = (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
        throw codecError(
          tooLarge
            ? `a zlib THeader payload inflates past the ${this.maxFrameSize}-byte frame limit`
            : `a zlib THeader payload does not inflate (${(err as Error).message})`,
        );
      }
    }
    const plain: THeaderInfo = { ...header, transforms: [] };
    const dataSize = tHeaderDataSize(header.headers);
    const frame = Buffer.allocUnsafe(THEADER_FIXED_SIZE + dataSize + payload.length);
    if (frame.length - 4 > this.maxFrameSize) throw frameTooLarge(frame.length - 4, this.maxFrameSize);
    const payloadStart = writeTHeader(frame, 0, header.flags, header.seqid, header.protocol, header.headers, dataSize, payload.length);
    payload.copy(frame, payloadStart);
    const bodyStart = readMessageBegin(frame, payloadStart, frame.length, header.protocol, this.maxFrameSize, this.scan, this.begin);
    if (bodyStart === MORE) throw codecError(`an inflated THeader payload of ${payload.length} bytes ends inside its message header`);
    return this.done(frame, thriftFormat('header', header.protocol), payloadStart, bodyStart, plain, total);
  }

  private decodeUnframed(buf: Buffer, protocol: ThriftProtocol, direction: Direction): DecodeResult {
    this.expect('unframed', protocol, direction);
    const scan = this.scan;
    const bodyStart = readMessageBegin(buf, 0, buf.length, protocol, this.maxFrameSize, scan, this.begin);
    if (bodyStart === MORE) return this.moreUnframed(scan.needed);
    // Whole messages (nearly all) take the recursive walk; one cut short is walked again by a
    // walker that keeps its place, so the rest of it costs only its own bytes.
    let end = protocol === 'binary' ? skipStruct(buf, bodyStart, 0, scan) : skipCompactStruct(buf, bodyStart, 0, scan);
    if (end === MORE) return this.resumeUnframed(buf, { walk: new UnframedResume(protocol, bodyStart, this.maxFrameSize), bodyStart });
    if (end > this.maxFrameSize) throw frameTooLarge(end, this.maxFrameSize);
    return this.done(frameOf(buf, end), thriftFormat('unframed', protocol), 0, bodyStart, undefined);
  }

  private resumeUnframed(buf: Buffer, resume: NonNullable<ThriftCodec['resume']>): DecodeResult {
    const end = resume.walk.run(buf, this.scan);
    if (end === MORE) {
      const more = this.moreUnframed(this.scan.needed);
      this.resume = resume;
      return more;
    }
    if (end > this.maxFrameSize) throw frameTooLarge(end, this.maxFrameSize);
    const protocol = resume.walk.protocol;
    // done() reads the message begin from this.begin; the call that started the walk read it, but others came since.
    readMessageBegin(buf, 0, end, protocol, this.maxFrameSize, this.scan, this.begin);
    return this.done(frameOf(buf, end), thriftFormat('unframed', protocol), 0, resume.bodyStart, undefined);
  }

  /** Unframed messages have no length: `needed` is only a lower bound, still enough to pace the reader. */
  private moreUnframed(needed: number): DecodeResult {
    if (needed > this.maxFrameSize) throw frameTooLarge(needed, this.maxFrameSize);
    return { status: 'more', needed };
  }

  /**
   * Checks a message's format against the stream's. Node's THeader server
   * answers asynchronous handlers with unframed replies (its header state is
   * reset before the reply is flushed), so a THeader stream accepts unframed
   * replies of the same protocol.
   */
  private expect(transport: ThriftTransport, protocol: ThriftProtocol | undefined, direction: Direction): void {
    const fixed = this.fixed;
    const expected = this.detected ?? fixed;
    const tolerated = expected.transport === 'header' && transport === 'unframed' && direction === 'response';
    if (
      (expected.transport === undefined || expected.transport === transport || tolerated) &&
      (expected.protocol === undefined || protocol === undefined || expected.protocol === protocol)
    ) {
      return;
    }
    const seen = formatName({ transport, protocol });
    if (this.detected === undefined) {
      throw codecError(
        `the codec is configured for ${formatName(fixed)} (options.format) but the peer sent ${seen}; ` +
          'change options.format or the client transport/protocol so they agree',
      );
    }
    throw codecError(
      `this stream started as ${formatName(this.detected)} but a later message is ${seen}; ` +
        'one connection must keep one transport and protocol',
    );
  }

  private done(
    frame: Buffer,
    format: ThriftFormat,
    payloadStart: number,
    bodyStart: number,
    header: THeaderInfo | undefined,
    consumed = frame.length,
  ): DecodeResult {
    const b = this.begin;
    const name = methodNames.read(frame, b.nameStart, b.nameEnd);
    const colon = name.indexOf(':');
    const method = colon < 0 ? name : name.slice(colon + 1);
    const metadata = new Metadata();
    // Header pairs first, so the protocol's own facts win over a header of the same name.
    if (header !== undefined) for (const [k, v] of header.headers) metadata.set(k, v);
    // `method` is the name as written on the wire (`Calculator:add` when multiplexed), as
    // MetaProtocol Proxy's Thrift codec has it, so Aeraki's MetaRouters match the same calls.
    // The parts stay available: `method-name` (always) and `service` (multiplexed only).
    metadata.set('method', name);
    metadata.set('method-name', method);
    let operationName = method;
    if (colon >= 0) {
      const service = name.slice(0, colon);
      metadata.set('service', service);
      operationName = `${service}/${method}`;
    } else if (header !== undefined) {
      // `service` is the codec's (the multiplexed prefix): a peer's header of that name never stands in for it.
      metadata.delete('service');
    }
    let ok: boolean | undefined;
    if (b.kind === MessageKind.REPLY) ok = this.resultOk(frame, bodyStart, format.protocol);
    else if (b.kind === MessageKind.EXCEPTION) ok = false;
    const state = new ThriftFrameState(format, b.kind, b.seqid, name, method, payloadStart, b.seqStart, b.seqEnd, b.strict, header);
    // A tolerated unframed reply on a THeader stream does not become the stream's format.
    if (this.detected === undefined && (this.fixed.transport === undefined || this.fixed.transport === format.transport)) {
      this.detected = format;
    }
    const message: Message = {
      type: MESSAGE_TYPES[b.kind]!,
      requestId: b.seqid,
      metadata,
      frame,
      operationName,
      ok,
      codecState: state,
    };
    return { status: 'done', message, consumed };
  }

  /**
   * A reply's result struct holds field 0 (success) or nothing (void) when the
   * call succeeded, and a declared exception at field 1+ when it did not. Only
   * the first field header is read.
   */
  private resultOk(frame: Buffer, pos: number, protocol: ThriftProtocol): boolean {
    const end = frame.length;
    if (pos >= end) throw codecError('a reply ends before its result struct');
    const head = frame[pos]!;
    if (head === 0) return true;
    if (protocol === 'binary') {
      if (pos + 3 > end) throw codecError('a reply ends inside its first field header');
      return frame.readInt16BE(pos + 1) === 0;
    }
    if (head >>> 4 !== 0) return false; // a non-zero delta from id 0 means id >= 1
    if (readVarint32(frame, pos + 1, end, this.scan) === MORE) throw codecError('a reply ends inside its first field header');
    return this.scan.value === 0;
  }
}

/** The message's bytes: `buf` itself when it holds exactly one message (the common case). */
function frameOf(buf: Buffer, length: number): Buffer {
  return buf.length === length ? buf : buf.subarray(0, length);
}

export function createThriftCodec(options?: ThriftCodecOptions): ThriftCodec {
  return new ThriftCodec(options);
}

export const thriftCodecFactory: CodecFactory = {
  protocol: 'thrift',
  create: () => new ThriftCodec(),
};
