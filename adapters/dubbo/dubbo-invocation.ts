// The provider's side of hessian2: reads a request body into the invocation
// (service, method, arguments, attachments) with hessian.js, and writes a
// handler's result or exception as a Dubbo response.
import { DubboStatus, HEADER_LENGTH, ResultFlag, responseHeader } from './codec/dubbo-frame';

/* eslint-disable @typescript-eslint/no-require-imports */
const hessian = require('hessian.js') as {
  DecoderV2: new (buf: Buffer) => { read(withType?: boolean): unknown; byteBuffer: { position(): number; limit(): number } };
  EncoderV2: new () => { write(value: unknown): unknown; get(): Buffer };
};
/* eslint-enable @typescript-eslint/no-require-imports */

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
  const decoder = new hessian.DecoderV2(frame.subarray(HEADER_LENGTH));
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
  const encoder = new hessian.EncoderV2();
  if (value === undefined || value === null) encoder.write(ResultFlag.NULL_VALUE);
  else {
    encoder.write(ResultFlag.VALUE);
    encoder.write(value);
  }
  return frameOf(requestId, encoder.get());
}

/**
 * A response carrying an exception (flag EXCEPTION) that Java clients read as
 * a RuntimeException and dubbo-js surfaces as an Error with `message`.
 */
export function exceptionResponse(requestId: number | bigint, message: string, className = 'java.lang.RuntimeException'): Buffer {
  const encoder = new hessian.EncoderV2();
  encoder.write(ResultFlag.EXCEPTION);
  encoder.write({ $class: className, $: { detailMessage: message } });
  return frameOf(requestId, encoder.get());
}

function frameOf(requestId: number | bigint, body: Buffer): Buffer {
  return Buffer.concat([responseHeader(requestId, DubboStatus.OK, body.length), body]);
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
