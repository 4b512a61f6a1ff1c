// RING_HASH: a Ketama-style ring. Each host owns a number of points on a 32-bit
// ring in proportion to its weight (Envoy's sizing: at least minimumRingSize
// points overall, enough that the lightest host gets one, at most
// maximumRingSize); a key goes to the first point at or after its hash.
// Hashes are murmur3_32: points hash "address:port" seeded with the point
// number, keys hash context.hashKey. Removing one of N hosts moves about 1/N of keys.
import type { Endpoint } from '../../config/model';
import type { LbOptions, LbRuntime } from './lb-options';
import type { LoadBalancer, PickContext } from './load-balancer';
import { murmur3 } from './murmur3';
import { RingWalk } from './ring-walk';

const DEFAULT_MIN_RING = 1024;
const DEFAULT_MAX_RING = 8 * 1024 * 1024;
/** Host indices below this pack beside a 32-bit hash in one double for sorting. */
const PACK = 2 ** 21;

export class RingHash implements LoadBalancer {
  /** Point hashes, ascending. */
  readonly hashes: Uint32Array;
  /** The host index owning each point. */
  readonly hosts: Int32Array;
  private readonly random: () => number;
  private readonly walk: RingWalk;
  /** bucketStart[b] = first point whose top `bucketBits` bits are >= b, so a lookup searches one bucket. */
  private readonly bucketStart: Int32Array;
  private readonly bucketShift: number;

  constructor(endpoints: readonly Endpoint[], options: LbOptions = {}, runtime: LbRuntime = {}) {
    this.random = runtime.random ?? Math.random;
    this.walk = new RingWalk(endpoints.length);
    const minRing = clampSize(options.ringHash?.minimumRingSize, DEFAULT_MIN_RING);
    const maxRing = Math.max(minRing, clampSize(options.ringHash?.maximumRingSize, DEFAULT_MAX_RING));
    const points = ringPoints(endpoints, minRing, maxRing);
    this.hashes = new Uint32Array(points.length);
    this.hosts = new Int32Array(points.length);
    if (endpoints.length < PACK) {
      const packed = new Float64Array(points.length);
      for (let p = 0; p < points.length; p++) packed[p] = points.hashes[p]! * PACK + points.hosts[p]!;
      packed.sort();
      for (let p = 0; p < packed.length; p++) {
        const v = packed[p]!;
        const hash = Math.floor(v / PACK);
        this.hashes[p] = hash;
        this.hosts[p] = v - hash * PACK;
      }
    } else {
      const order = Array.from({ length: points.length }, (_, p) => p);
      order.sort((a, b) => points.hashes[a]! - points.hashes[b]! || points.hosts[a]! - points.hosts[b]!);
      order.forEach((from, to) => ((this.hashes[to] = points.hashes[from]!), (this.hosts[to] = points.hosts[from]!)));
    }
    const bits = Math.min(20, Math.max(1, Math.ceil(Math.log2(Math.max(2, points.length)))));
    this.bucketShift = 32 - bits;
    this.bucketStart = new Int32Array((1 << bits) + 1);
    for (let b = 0, p = 0; b <= 1 << bits; b++) {
      const floor = b * 2 ** this.bucketShift;
      while (p < this.hashes.length && this.hashes[p]! < floor) p++;
      this.bucketStart[b] = p;
    }
  }

  pick(context?: PickContext): number {
    const length = this.hashes.length;
    if (length === 0) return -1;
    const key = context?.hashKey;
    const pos = key === undefined ? (this.random() * length) | 0 : this.slot(murmur3(key));
    const host = this.hosts[pos]!;
    const available = context?.isAvailable;
    if (available === undefined || available(host)) return host;
    return this.walk.from(this.hosts, pos, available);
  }

  /** The first point at or after `hash`, wrapping to 0. */
  private slot(hash: number): number {
    const hashes = this.hashes;
    const bucket = hash >>> this.bucketShift;
    let lo = this.bucketStart[bucket]!;
    let hi = this.bucketStart[bucket + 1]!;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (hashes[mid]! < hash) lo = mid + 1;
      else hi = mid;
    }
    return lo === hashes.length ? 0 : lo;
  }
}

function clampSize(value: number | undefined, fallback: number): number {
  return value !== undefined && Number.isFinite(value) && value >= 1 ? Math.min(Math.floor(value), DEFAULT_MAX_RING) : fallback;
}

/** Unsorted points: how many per host follows Envoy's ring sizing. */
function ringPoints(endpoints: readonly Endpoint[], minRing: number, maxRing: number): { length: number; hashes: Uint32Array; hosts: Int32Array } {
  const n = endpoints.length;
  if (n === 0) return { length: 0, hashes: new Uint32Array(0), hosts: new Int32Array(0) };
  const weights = endpoints.map((e) => Math.max(1, e.weight));
  const total = weights.reduce((a, b) => a + b, 0);
  const minNormalized = Math.min(...weights) / total;
  const scale = Math.min(Math.ceil(minNormalized * minRing) / minNormalized, maxRing);
  const capacity = Math.ceil(scale) + n;
  const hashes = new Uint32Array(capacity);
  const hosts = new Int32Array(capacity);
  let count = 0;
  // Cumulative targets so rounding never drifts the ring size; every host gets at least one point.
  let target = 0;
  for (let i = 0; i < n; i++) {
    target += (scale * weights[i]!) / total;
    const name = `${endpoints[i]!.address}:${endpoints[i]!.port}`;
    for (let replica = 0; count < target - 1e-9 || replica === 0; replica++) {
      hashes[count] = murmur3(name, replica);
      hosts[count] = i;
      count++;
    }
  }
  return { length: count, hashes: hashes.subarray(0, count), hosts: hosts.subarray(0, count) };
}
