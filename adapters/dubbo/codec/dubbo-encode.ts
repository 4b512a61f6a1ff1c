// Re-emits a decoded Dubbo message: a new request id, and a mutation written
// into the attachments map. Only that map is re-serialized; the bytes before
// it (arguments or result) are copied as they are.
import type { EncodeOptions, Message } from '../../../lib/protocol';
import { codecError, DubboStatus, FLAG_EVENT, HEADER_LENGTH, ResultFlag, writeRequestId } from './dubbo-frame';
import { DubboFrameState } from './dubbo-frame-state';
import type { HessianReader } from './hessian-reader';
import { hessianString } from './hessian-writer';

const MAP_END = Buffer.from([0x5a]);
const UNTYPED_MAP = Buffer.from([0x48]);

export function dubboEncode(message: Message, options: EncodeOptions | undefined, reader: HessianReader): Buffer {
  const frame = message.frame;
  const mutation = options?.mutation;
  const state = message.codecState;
  if (mutation !== undefined && mutation.size > 0 && state instanceof DubboFrameState && carriesAttachments(state)) {
    const out = withAttachments(frame, state, mutation, reader);
    if (options?.requestId !== undefined) writeRequestId(out, options.requestId);
    return out;
  }
  const id = options?.requestId;
  if (id === undefined || id === message.requestId) return frame;
  // Copy: the received frame may still be read elsewhere (a mirror, a retry).
  const out = Buffer.allocUnsafe(frame.length);
  frame.copy(out);
  writeRequestId(out, id);
  return out;
}

/** Requests and OK responses have attachments; heartbeats and error statuses do not. */
function carriesAttachments(state: DubboFrameState): boolean {
  if ((state.flags & FLAG_EVENT) !== 0) return false;
  return state.resultFlag < 0 ? state.status === 0 : state.status === DubboStatus.OK;
}

/**
 * The frame with its attachments map replaced by one holding the original
 * entries (byte for byte) minus those the mutation overrides, plus the
 * mutation's entries.
 */
function withAttachments(frame: Buffer, state: DubboFrameState, mutation: ReadonlyMap<string, string>, reader: HessianReader): Buffer {
  const start = state.attachmentsStart;
  const parts: Buffer[] = [];
  let prefix = frame.subarray(HEADER_LENGTH, start);
  if (state.resultFlag >= 0 && state.resultFlag < ResultFlag.EXCEPTION_WITH_ATTACHMENTS) {
    // The result had no attachments: switch its flag to the "with attachments" variant.
    const flagByte = frame[HEADER_LENGTH]!;
    if (flagByte < 0x90 || flagByte > 0x92) throw codecError(`the result flag is not a compact int (byte 0x${flagByte.toString(16)}); cannot add attachments`);
    prefix = Buffer.from(prefix);
    prefix[0] = flagByte + 3;
  }
  parts.push(prefix);
  if (start < frame.length && frame[start] !== 0x4e) {
    reader.reset(frame, frame.length);
    let pos = start;
    const tag = frame[pos]!;
    // Keep the map's own opening (typed or not) so type references after it stay valid.
    if (tag === 0x4d) pos = reader.isInt(pos + 1) ? reader.readInt(pos + 1) : reader.skipAnyString(pos + 1);
    else if (tag === 0x48) pos++;
    else throw codecError(`expected the attachments map at offset ${pos}, found byte 0x${tag.toString(16)}`);
    parts.push(frame.subarray(start, pos));
    for (;;) {
      if (pos >= frame.length) throw codecError('the attachments map has no terminator before the end of the body');
      if (frame[pos] === 0x5a) break;
      const entryStart = pos;
      let key: string | undefined;
      if (reader.isString(pos)) {
        pos = reader.readString(pos);
        key = reader.str;
      } else {
        pos = reader.skipValue(pos);
      }
      pos = reader.skipValue(pos);
      if (key === undefined || !mutation.has(key)) parts.push(frame.subarray(entryStart, pos));
    }
  } else {
    parts.push(UNTYPED_MAP);
  }
  for (const [k, v] of mutation) parts.push(hessianString(k), hessianString(v));
  parts.push(MAP_END);
  let bodyLength = 0;
  for (const p of parts) bodyLength += p.length;
  const out = Buffer.allocUnsafe(HEADER_LENGTH + bodyLength);
  frame.copy(out, 0, 0, HEADER_LENGTH);
  out.writeUInt32BE(bodyLength, 12);
  let at = HEADER_LENGTH;
  for (const p of parts) at += p.copy(out, at);
  return out;
}
