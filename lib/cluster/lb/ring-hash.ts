// RING_HASH, built as Envoy builds it so a key lands on the same host as
// through the sidecar: hosts get points in proportion to their normalized
// weight (scale = min(ceil(minWeight × minimumRingSize) / minWeight,
// maximumRingSize), running sums so fractions even out), point n of a host
// is xxHash64("<address>:<port>_<n>"), the ring is sorted by that 64-bit
// hash, and a key goes to the first point whose hash is >= the key's hash
// (wrapping to the first point). The key's hash is computed by the route
// (xxHash64 of the hash-policy values). When hosts become unavailable
// (outlier ejection, EDS health) the ring is rebuilt from the available ones,
// as Envoy rebuilds it (HealthyView); a retry walks on past the hosts it tried.
import type { Endpoint } from '../../config/model';
import type { LbOptions, LbRuntime } from './lb-options';
import type { LoadBalancer, PickContext } from './load-balancer';
import { HealthyView } from './healthy-view';
import { RingWalk } from './ring-walk';
import { xxhash64 } from '../../protocol/xxhash64';

/** Envoy's defaults (RingHashLoadBalancer DefaultMinRingSize / DefaultMaxRingSize). */
const DEFAULT_MIN_RING = 1024;
const DEFAULT_MAX_RING = 8 * 1024 * 1024;

/** One ring: point hashes ascending (high and low 32 bits) and the host (of the ring's own list) at each point. */
interface Ring {
  readonly hashHi: Uint32Array;
  readonly hashLo: Uint32Array;
  readonly hosts: Int32Array;
  readonly walk: RingWalk;
}

export class RingHash implements LoadBalancer {
  /** The ring over every endpoint: point hashes, ascending, high and low 32 bits. */
  readonly hashHi: Uint32Array;
  readonly hashLo: Uint32Array;
  /** The host index owning each point. */
  readonly hosts: Int32Array;
  private readonly random: () => number;
  private readonly healthy: HealthyView<Ring>;

  constructor(endpoints: readonly Endpoint[], options: LbOptions = {}, runtime: LbRuntime = {}) {
    this.random = runtime.random ?? Math.random;
    const minRing = clampSize(options.ringHash?.minimumRingSize, DEFAULT_MIN_RING);
    const maxRing = Math.max(minRing, clampSize(options.ringHash?.maximumRingSize, DEFAULT_MAX_RING));
    const full = buildRing(endpoints, minRing, maxRing);
    this.hashHi = full.hashHi;
    this.hashLo = full.hashLo;
    this.hosts = full.hosts;
    this.healthy = new HealthyView(endpoints, (subset) => buildRing(subset, minRing, maxRing), full);
  }

  /** Number of points on the ring over every endpoint. */
  get size(): number {
    return this.hosts.length;
  }

  /** Rings built for changes of health so far. */
  get rebuilds(): number {
    return this.healthy.rebuilds;
  }

  /** The point hash at `p`, as Envoy stores it. */
  hashAt(p: number): bigint {
    return (BigInt(this.hashHi[p]!) << 32n) | BigInt(this.hashLo[p]!);
  }

  pick(context?: PickContext): number {
    const { table: ring, indices } = this.healthy.current(context);
    const length = ring.hosts.length;
    if (length === 0) return -1;
    const key = context?.hashKey;
    const pos = key === undefined ? (this.random() * length) | 0 : slot(ring, key);
    const host = ring.hosts[pos]!;
    const available = context?.isAvailable;
    if (indices === undefined) {
      if (available === undefined || available(host)) return host;
      return ring.walk.from(ring.hosts, pos, available);
    }
    // The ring covers the hosts available when it was built; a retry still walks past the ones it tried.
    if (available === undefined || available(indices[host]!)) return indices[host]!;
    const j = ring.walk.from(ring.hosts, pos, (k) => available(indices[k]!));
    return j < 0 ? -1 : indices[j]!;
  }
}

/** The first point whose hash is >= `hash`, wrapping to 0 (Envoy's ketama search). */
function slot(ring: Ring, hash: bigint): number {
  const hi = Number((hash >> 32n) & 0xffffffffn);
  const lo = Number(hash & 0xffffffffn);
  const H = ring.hashHi;
  const L = ring.hashLo;
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

/** The sorted ring over `endpoints` (indices into that list). */
function buildRing(endpoints: readonly Endpoint[], minRing: number, maxRing: number): Ring {
  const points = ringPoints(endpoints, minRing, maxRing);
  const order = new Array<number>(points.hashes.length);
  for (let p = 0; p < order.length; p++) order[p] = p;
  const hashes = points.hashes;
  order.sort((a, b) => (hashes[a]! < hashes[b]! ? -1 : hashes[a]! > hashes[b]! ? 1 : 0));
  const hashHi = new Uint32Array(order.length);
  const hashLo = new Uint32Array(order.length);
  const hosts = new Int32Array(order.length);
  order.forEach((from, to) => {
    const h = hashes[from]!;
    hashHi[to] = Number(h >> 32n);
    hashLo[to] = Number(h & 0xffffffffn);
    hosts[to] = points.hosts[from]!;
  });
  return { hashHi, hashLo, hosts, walk: new RingWalk(endpoints.length) };
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
