// RING_HASH, built as Envoy builds it so a key lands on the same host as
// through the sidecar: hosts get points in proportion to their normalized
// weight (scale = min(ceil(minWeight × minimumRingSize) / minWeight,
// maximumRingSize), running sums so fractions even out), point n of a host
// is xxHash64("<address>:<port>_<n>"), the ring is sorted by that 64-bit
// hash, and a key goes to the first point whose hash is >= the key's hash
// (wrapping to the first point). The key's hash is computed by the route
// (xxHash64 of the hash-policy values). When the key's host is unavailable
// the ring is walked forward; Envoy rebuilds the ring without that host
// instead, so those keys may land elsewhere than the sidecar puts them.
import type { Endpoint } from '../../config/model';
import type { LbOptions, LbRuntime } from './lb-options';
import type { LoadBalancer, PickContext } from './load-balancer';
import { RingWalk } from './ring-walk';
import { xxhash64 } from '../../protocol/xxhash64';

/** Envoy's defaults (RingHashLoadBalancer DefaultMinRingSize / DefaultMaxRingSize). */
const DEFAULT_MIN_RING = 1024;
const DEFAULT_MAX_RING = 8 * 1024 * 1024;

export class RingHash implements LoadBalancer {
  /** Point hashes, ascending: high and low 32 bits. */
  readonly hashHi: Uint32Array;
  readonly hashLo: Uint32Array;
  /** The host index owning each point. */
  readonly hosts: Int32Array;
  private readonly random: () => number;
  private readonly walk: RingWalk;

  constructor(endpoints: readonly Endpoint[], options: LbOptions = {}, runtime: LbRuntime = {}) {
    this.random = runtime.random ?? Math.random;
    this.walk = new RingWalk(endpoints.length);
    const minRing = clampSize(options.ringHash?.minimumRingSize, DEFAULT_MIN_RING);
    const maxRing = Math.max(minRing, clampSize(options.ringHash?.maximumRingSize, DEFAULT_MAX_RING));
    const points = ringPoints(endpoints, minRing, maxRing);
    const order = Array.from({ length: points.hashes.length }, (_, p) => p);
    const hashes = points.hashes;
    order.sort((a, b) => (hashes[a]! < hashes[b]! ? -1 : hashes[a]! > hashes[b]! ? 1 : 0));
    this.hashHi = new Uint32Array(order.length);
    this.hashLo = new Uint32Array(order.length);
    this.hosts = new Int32Array(order.length);
    order.forEach((from, to) => {
      const h = hashes[from]!;
      this.hashHi[to] = Number(h >> 32n);
      this.hashLo[to] = Number(h & 0xffffffffn);
      this.hosts[to] = points.hosts[from]!;
    });
  }

  /** Number of points on the ring. */
  get size(): number {
    return this.hosts.length;
  }

  /** The point hash at `p`, as Envoy stores it. */
  hashAt(p: number): bigint {
    return (BigInt(this.hashHi[p]!) << 32n) | BigInt(this.hashLo[p]!);
  }

  pick(context?: PickContext): number {
    const length = this.hosts.length;
    if (length === 0) return -1;
    const key = context?.hashKey;
    const pos = key === undefined ? (this.random() * length) | 0 : this.slot(key);
    const host = this.hosts[pos]!;
    const available = context?.isAvailable;
    if (available === undefined || available(host)) return host;
    return this.walk.from(this.hosts, pos, available);
  }

  /** The first point whose hash is >= `hash`, wrapping to 0 (Envoy's ketama search). */
  private slot(hash: bigint): number {
    const hi = Number((hash >> 32n) & 0xffffffffn);
    const lo = Number(hash & 0xffffffffn);
    const H = this.hashHi;
    const L = this.hashLo;
    let a = 0;
    let b = H.length;
    while (a < b) {
      const mid = (a + b) >>> 1;
      const mh = H[mid]!;
      if (mh < hi || (mh === hi && L[mid]! < lo)) a = mid + 1;
      else b = mid;
    }
    return a === H.length ? 0 : a;
  }
}

function clampSize(value: number | undefined, fallback: number): number {
  return value !== undefined && Number.isFinite(value) && value >= 1 ? Math.min(Math.floor(value), DEFAULT_MAX_RING) : fallback;
}

/** Unsorted points, in Envoy's order and number (RingHashLoadBalancer::Ring). */
function ringPoints(endpoints: readonly Endpoint[], minRing: number, maxRing: number): { hashes: bigint[]; hosts: number[] } {
  const hashes: bigint[] = [];
  const hosts: number[] = [];
  const n = endpoints.length;
  if (n === 0) return { hashes, hosts };
  // Envoy's weights are at least 1; normalized as weight / Σweights in double precision.
  const weights = endpoints.map((e) => Math.max(1, e.weight));
  const sum = weights.reduce((a, b) => a + b, 0);
  const normalized = weights.map((w) => w / sum);
  const minNormalized = Math.min(...normalized);
  const scale = Math.min(Math.ceil(minNormalized * minRing) / minNormalized, maxRing);
  let current = 0;
  let target = 0;
  for (let i = 0; i < n; i++) {
    const prefix = `${hostKey(endpoints[i]!)}_`;
    target += scale * normalized[i]!;
    for (let k = 0; current < target; k++, current++) {
      hashes.push(xxhash64(prefix + k));
      hosts.push(i);
    }
  }
  return { hashes, hosts };
}

/** The host's address as Envoy prints it (Address::Ip::asString): "ip:port", "[ipv6]:port". */
export function hostKey(e: Endpoint): string {
  return e.address.includes(':') ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`;
}
