// Scan: the out-parameters of the byte readers. Readers return a position, or
// MORE when the buffer ends early; they leave the decoded value and the bytes
// needed (a lower bound) here, so the hot path allocates nothing and never
// uses exceptions for "wait for more data".
import { MeshError, MeshErrorCode } from '../../../lib/protocol/mesh-error';

export const MORE = -1;

export class Scan {
  /** The last value a varint reader decoded. */
  value = 0;
  /** When a reader returned MORE: the buffer must be at least this long. */
  needed = 0;

  more(needed: number): number {
    this.needed = needed;
    return MORE;
  }
}

export function codecError(message: string): MeshError {
  return new MeshError(MeshErrorCode.CODEC, `thrift codec: ${message}`);
}
