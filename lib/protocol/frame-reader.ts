// FrameReader: turns a socket's chunks into whole messages through a codec.
// A chunk holding whole messages is decoded in place (no copy). A message
// that spans chunks is gathered in one growing buffer: each byte is copied a
// bounded number of times (the buffer doubles), and the codec is told the
// bytes continue the ones it has seen, so a codec that scans for a message's
// end goes on where it stopped. Together a message arriving in many chunks
// costs time linear in its size. When the codec knows a frame's size the
// reader waits for all of it before asking again.
import type { Codec } from './codec';
import type { Direction, Message } from './message';

const MIN_CAPACITY = 16 * 1024;
const EMPTY = Buffer.alloc(0);

export class FrameReader {
  /** Holds the bytes of an incomplete message at [start, end). Bytes handed out in messages are never written again. */
  private store: Buffer = EMPTY;
  private start = 0;
  private end = 0;
  private needed = 0;

  constructor(
    private readonly codec: Codec,
    private readonly direction: Direction,
  ) {}

  /** Bytes received but not yet part of a whole message. */
  get buffered(): number {
    return this.end - this.start;
  }

  /**
   * Feeds one chunk and calls `onMessage` for every whole message it
   * completes. Codec errors propagate to the caller; the stream has then lost
   * its framing and the reader should be dropped with its connection.
   */
  push(chunk: Buffer, onMessage: (message: Message) => void): void {
    if (this.end === this.start) {
      const rest = this.decodeAll(chunk, false, onMessage);
      if (rest.length > 0) this.keep(rest);
      return;
    }
    this.append(chunk);
    if (this.end - this.start < this.needed) return;
    const pending = this.store.subarray(this.start, this.end);
    const rest = this.decodeAll(pending, true, onMessage);
    if (rest.length === 0) this.reset();
    else if (rest.length !== pending.length) this.keep(rest);
  }

  reset(): void {
    this.store = EMPTY;
    this.start = 0;
    this.end = 0;
    this.needed = 0;
  }

  /** Decodes messages off the front of `buf`; returns what is left (an incomplete message). */
  private decodeAll(buf: Buffer, continued: boolean, onMessage: (message: Message) => void): Buffer {
    while (buf.length > 0) {
      const result = this.codec.decode(buf, this.direction, continued);
      if (result.status === 'more') {
        this.needed = result.needed ?? 0;
        return buf;
      }
      continued = false;
      buf = buf.subarray(result.consumed);
      onMessage(result.message);
    }
    this.needed = 0;
    return buf;
  }

  /** Makes `rest` (a tail of a chunk or of the store) the pending bytes, in a store of their own. */
  private keep(rest: Buffer): void {
    // Sized by what arrived, not by what the peer announced: a 5-byte start of a "16 MB" frame costs 16 KiB.
    const store = Buffer.allocUnsafe(Math.max(MIN_CAPACITY, rest.length * 2));
    rest.copy(store, 0);
    this.store = store;
    this.start = 0;
    this.end = rest.length;
  }

  private append(chunk: Buffer): void {
    if (this.end + chunk.length > this.store.length) {
      // A new store, never one written over: messages already handed out may view the old one.
      const length = this.end - this.start;
      // Doubling keeps the copies linear; a frame whose size the codec knows
      // never gets a store beyond it (a 7 MiB frame is not gathered in 14).
      let capacity = Math.max(MIN_CAPACITY, (length + chunk.length) * 2);
      if (this.needed >= length + chunk.length) capacity = Math.min(capacity, this.needed);
      const store = Buffer.allocUnsafe(capacity);
      this.store.copy(store, 0, this.start, this.end);
      this.store = store;
      this.start = 0;
      this.end = length;
    }
    chunk.copy(this.store, this.end);
    this.end += chunk.length;
  }
}
