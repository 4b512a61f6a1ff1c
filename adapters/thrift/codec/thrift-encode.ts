// Re-emits a decoded message: a copy with the seqid rewritten, THeader
// headers merged with a mutation, and optionally a different transport. The
// payload is copied, never re-serialized, into one output allocation.
import type { EncodeOptions, Message, Mutation } from '../../../lib/protocol';
import { copyBytes } from './copy-bytes';
import { ThriftFrameState } from './frame-state';
import { THEADER_FIXED_SIZE, tHeaderDataSize, writeTHeader } from './theader';
import type { ThriftTransport } from './thrift-format';
import { varintSize, writeVarint32 } from './varint';

export interface ThriftEncodeOptions extends EncodeOptions {
  /** Re-frame the message into this transport (the protocol stays as it is). */
  transport?: ThriftTransport | undefined;
}

/**
 * The message's bytes for the wire. `defaultTransport` applies when the
 * options name none; without either the message keeps its own transport.
 */
export function thriftEncode(message: Message, options?: ThriftEncodeOptions, defaultTransport?: ThriftTransport): Buffer {
  const st = ThriftFrameState.of(message);
  const frame = message.frame;
  const target = options?.transport ?? defaultTransport ?? st.format.transport;
  const binary = st.format.protocol === 'binary';
  const seq = options?.requestId === undefined ? st.seqid : toSeqid(options.requestId);
  const seqChanged = seq !== st.seqid;
  const oldSeqLen = st.seqEnd - st.seqStart;
  const newSeqLen = seqChanged && !binary ? varintSize(seq) : oldSeqLen;
  const payloadLen = frame.length - st.payloadStart - oldSeqLen + newSeqLen;

  let out: Buffer;
  let pos: number;
  if (target === 'header') {
    const mutation = options?.mutation;
    if (st.header !== undefined && (mutation === undefined || mutation.size === 0)) {
      // Keep the header block byte for byte, unknown info blocks included.
      pos = st.payloadStart;
      out = Buffer.allocUnsafe(pos + payloadLen);
      frame.copy(out, 0, 0, pos);
      out.writeUInt32BE(pos - 4 + payloadLen, 0);
      if (seqChanged) out.writeInt32BE(seq, 8);
    } else {
      const headers = mergeHeaders(st.header?.headers, mutation);
      const dataSize = tHeaderDataSize(headers);
      out = Buffer.allocUnsafe(THEADER_FIXED_SIZE + dataSize + payloadLen);
      const headerSeq = st.header !== undefined && !seqChanged ? st.header.seqid : seq;
      pos = writeTHeader(out, 0, st.header?.flags ?? 0, headerSeq, st.format.protocol, headers, dataSize, payloadLen);
    }
  } else if (target === 'framed') {
    out = Buffer.allocUnsafe(4 + payloadLen);
    out.writeUInt32BE(payloadLen, 0);
    pos = 4;
  } else {
    out = Buffer.allocUnsafe(payloadLen);
    pos = 0;
  }

  if (!seqChanged) {
    copyBytes(frame, st.payloadStart, frame.length, out, pos);
  } else if (binary) {
    copyBytes(frame, st.payloadStart, frame.length, out, pos);
    out.writeInt32BE(seq, pos + st.seqStart - st.payloadStart);
  } else {
    // Compact seqids are varints: the new one may be longer or shorter.
    pos += copyBytes(frame, st.payloadStart, st.seqStart, out, pos);
    pos = writeVarint32(out, pos, seq);
    copyBytes(frame, st.seqEnd, frame.length, out, pos);
  }
  return out;
}

/** A request id as a Thrift seqid: wrapped to a signed 32-bit integer. */
export function toSeqid(id: number | bigint): number {
  return typeof id === 'bigint' ? Number(BigInt.asIntN(32, id)) : id | 0;
}

const NONE: ReadonlyArray<readonly [string, string]> = Object.freeze([]);

/**
 * The message's headers with the mutation applied: same keys (compared
 * case-insensitively, as metadata keys are) take the mutation's value and
 * spelling in place; new keys follow in the mutation's order.
 */
export function mergeHeaders(
  headers: ReadonlyArray<readonly [string, string]> | undefined,
  mutation: Mutation | undefined,
): ReadonlyArray<readonly [string, string]> {
  const base = headers ?? NONE;
  if (mutation === undefined || mutation.size === 0) return base;
  const pending = new Map<string, readonly [string, string]>();
  for (const [k, v] of mutation) pending.set(k.toLowerCase(), [k, v]);
  const merged: Array<readonly [string, string]> = [];
  for (const pair of base) {
    const lower = pair[0].toLowerCase();
    const replacement = pending.get(lower);
    if (replacement === undefined) {
      merged.push(pair);
    } else {
      merged.push(replacement);
      pending.delete(lower);
    }
  }
  for (const pair of pending.values()) merged.push(pair);
  return merged;
}
