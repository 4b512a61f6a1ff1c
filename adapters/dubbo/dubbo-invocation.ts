// The provider's side of hessian2: reads a request body into the invocation
// (service, method, arguments, attachments) with hessian.js, and writes a
// handler's result or exception as a Dubbo response.
import { DubboStatus, HEADER_LENGTH, ResultFlag, responseHeader } from './codec/dubbo-frame';
import { HessianReader } from './codec/hessian-reader';
import { hessianStringLength, writeHessianString } from './codec/hessian-writer';

/* eslint-disable @typescript-eslint/no-require-imports */
const hessian = require('hessian.js') as {
  DecoderV2: new (buf: Buffer) => HessianDecoder;
  EncoderV2: new (options?: { size?: number }) => HessianEncoder;
};
/* eslint-enable @typescript-eslint/no-require-imports */

interface HessianDecoder {
  read(withType?: boolean): unknown;
  readString(): string;
  byteBuffer: { position(at?: number): number; limit(): number };
}

interface HessianEncoder {
  write(value: unknown): unknown;
  get(): Buffer;
  byteBuffer: { put(bytes: Buffer): unknown };
}

/**
 * hessian.js's decoder with strings read by the codec's HessianReader:
 * hessian.js decodes a string chunk through an array of char codes (tens of
 * bytes per character, in large-object space), which made a 7 MiB string
 * argument cost over 100 MB; here a chunk is decoded straight from the bytes.
 */
class InvocationDecoder extends hessian.DecoderV2 {
  private readonly strings = new HessianReader();

  constructor(body: Buffer) {
    super(body);
    this.strings.reset(body, body.length);
  }

  override readString(): string {
    const at = this.byteBuffer.position();
    this.byteBuffer.position(this.strings.readString(at));
    return this.strings.str;
  }
}

export interface DubboInvocation {
  readonly dubboVersion: string;
  /** The service path (the interface name unless the client set another path). */
  readonly path: string;
  readonly version: string;
  readonly method: string;
  readonly parameterTypes: string;
  readonly args: unknown[];
  readonly attachments: Record<string, unknown>;
}

export function readInvocation(frame: Buffer): DubboInvocation {
  const decoder = new InvocationDecoder(frame.subarray(HEADER_LENGTH));
  const dubboVersion = String(decoder.read());
  const path = String(decoder.read());
  const version = String(decoder.read() ?? '');
  const method = String(decoder.read());
  let types = decoder.read();
  if (typeof types === 'number') types = decoder.read(); // dubbox's -1 marker
  const parameterTypes = String(types ?? '');
  const args: unknown[] = [];
  for (let i = countTypes(parameterTypes); i > 0; i--) args.push(decoder.read());
  let attachments: Record<string, unknown> = {};
  if (decoder.byteBuffer.position() < decoder.byteBuffer.limit()) {
    const read = decoder.read();
    if (read !== null && typeof read === 'object') attachments = read as Record<string, unknown>;
  }
  return { dubboVersion, path, version, method, parameterTypes, args, attachments };
}

/** A response carrying `value` (flag VALUE, or NULL_VALUE for null/undefined). */
export function resultResponse(requestId: number | bigint, value: unknown): Buffer {
  if (typeof value === 'string') return stringResponse(requestId, value);
  const encoder = responseEncoder(sizeHint(value));
  if (value === undefined || value === null) encoder.write(ResultFlag.NULL_VALUE);
  else {
    encoder.write(ResultFlag.VALUE);
    encoder.write(value);
  }
  return frameOf(requestId, encoder);
}

/**
 * A response carrying an exception (flag EXCEPTION) that Java clients read as
 * a RuntimeException and dubbo-js surfaces as an Error with `message`.
 */
export function exceptionResponse(requestId: number | bigint, message: string, className = 'java.lang.RuntimeException'): Buffer {
  const encoder = responseEncoder(sizeHint(message));
  encoder.write(ResultFlag.EXCEPTION);
  encoder.write({ $class: className, $: { detailMessage: message } });
  return frameOf(requestId, encoder);
}

/** A string result written straight into a frame of its exact size: one buffer, no growing and no copies. */
function stringResponse(requestId: number | bigint, value: string): Buffer {
  const bodyLength = 1 + hessianStringLength(value);
  const frame = Buffer.allocUnsafe(HEADER_LENGTH + bodyLength);
  responseHeader(requestId, DubboStatus.OK, bodyLength).copy(frame, 0);
  frame[HEADER_LENGTH] = 0x90 + ResultFlag.VALUE; // the flag as a compact int
  writeHessianString(value, frame, HEADER_LENGTH + 1);
  return frame;
}

const HEADER_SPACE = Buffer.alloc(HEADER_LENGTH);
/** What hessian.js reserves beyond a string chunk's characters (three bytes per unit of a 32k-unit chunk) and some framing. */
const STRING_SLACK = 3 * 0x8000 + 256;

/**
 * An encoder whose buffer starts with room for the frame header, so the body
 * is never copied behind one, and is sized for a large string or byte[]
 * result up front: hessian.js doubles its buffer as it fills, which costs
 * several times a large value in copies.
 */
function responseEncoder(size: number | undefined): HessianEncoder {
  const encoder = new hessian.EncoderV2(size === undefined ? undefined : { size: HEADER_LENGTH + size });
  encoder.byteBuffer.put(HEADER_SPACE);
  return encoder;
}

function sizeHint(value: unknown): number | undefined {
  if (typeof value === 'string') return value.length > 1024 ? value.length + STRING_SLACK : undefined;
  // hessian.js writes byte[] in chunks of 4093 bytes, each behind a 3-byte header.
  if (Buffer.isBuffer(value)) return value.length > 1024 ? value.length + Math.ceil(value.length / 4093) * 3 + 256 : undefined;
  return undefined;
}

function frameOf(requestId: number | bigint, encoder: HessianEncoder): Buffer {
  const frame = encoder.get();
  responseHeader(requestId, DubboStatus.OK, frame.length - HEADER_LENGTH).copy(frame, 0);
  return frame;
}

function countTypes(desc: string): number {
  let n = 0;
  for (let i = 0; i < desc.length; i++) {
    while (desc[i] === '[') i++;
    if (desc[i] === 'L') {
      const semi = desc.indexOf(';', i);
      i = semi < 0 ? desc.length : semi;
    }
    n++;
  }
  return n;
}
