// FrameReader: turns a socket's chunks into whole messages through a codec.
// It copies bytes only when a message spans chunks, and when the codec knows
// a frame's size it waits for all of it before trying again, so a large
// message arriving in many chunks costs one copy, not one per chunk.
import type { Codec } from './codec';
import type { Direction, Message } from './message';

export class FrameReader {
  private chunks: Buffer[] = [];
  private total = 0;
  private needed = 0;

  constructor(
    private readonly codec: Codec,
    private readonly direction: Direction,
  ) {}

  /** Bytes received but not yet part of a whole message. */
  get buffered(): number {
    return this.total;
  }

  /**
   * Feeds one chunk and calls `onMessage` for every whole message it
   * completes. Codec errors propagate to the caller; the stream has then lost
   * its framing and the reader should be dropped with its connection.
   */
  push(chunk: Buffer, onMessage: (message: Message) => void): void {
    this.chunks.push(chunk);
    this.total += chunk.length;
    if (this.total < this.needed) return;
    let buf = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.total);
    this.chunks = [];
    this.total = 0;
    this.needed = 0;
    while (buf.length > 0) {
      const result = this.codec.decode(buf, this.direction);
      if (result.status === 'more') {
        this.chunks.push(buf);
        this.total = buf.length;
        this.needed = result.needed ?? 0;
        return;
      }
      buf = buf.subarray(result.consumed);
      onMessage(result.message);
    }
  }

  reset(): void {
    this.chunks = [];
    this.total = 0;
    this.needed = 0;
  }
}
