// BucketRotation: drives the rolling windows of many opossum breakers from
// one shared `rotateBucketController`, without a timer. Each `run` first asks
// it to catch up: when the monotonic clock has crossed bucket boundaries since
// the last look, it emits that many 'rotate' events (at most a whole window),
// so every attached breaker's window is exact whenever it is read.
import { EventEmitter } from 'node:events';

export class BucketRotation {
  /** Pass as opossum's `rotateBucketController`. */
  readonly controller = new EventEmitter();
  private epoch: number;
  private windowBuckets = 1;

  constructor(
    /** Ms per bucket: rollingCountTimeout / rollingCountBuckets of the breakers attached. */
    readonly bucketMs: number,
    private readonly clock: () => number = () => performance.now(),
  ) {
    // One listener per breaker is expected, however many there are.
    this.controller.setMaxListeners(0);
    this.epoch = Math.floor(clock() / bucketMs);
  }

  /** Tells the rotation how many buckets a window of an attached breaker has. */
  attach(buckets: number): void {
    if (buckets > this.windowBuckets) this.windowBuckets = buckets;
  }

  /** Rotates every attached window past the bucket boundaries crossed since the last call. */
  catchUp(): void {
    const epoch = Math.floor(this.clock() / this.bucketMs);
    if (epoch === this.epoch) return;
    const rotations = Math.min(epoch - this.epoch, this.windowBuckets);
    this.epoch = epoch;
    for (let i = 0; i < rotations; i++) this.controller.emit('rotate');
  }

  private static readonly shared = new Map<number, BucketRotation>();

  /** The process-wide rotation for one bucket length (real clock). */
  static forBucket(bucketMs: number): BucketRotation {
    let rotation = BucketRotation.shared.get(bucketMs);
    if (rotation === undefined) {
      rotation = new BucketRotation(bucketMs);
      BucketRotation.shared.set(bucketMs, rotation);
    }
    return rotation;
  }
}
