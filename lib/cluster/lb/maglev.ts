// MAGLEV: a lookup table (65,537 entries by default) filled from each host's
// permutation (offset and skip from two murmur3_32 hashes of "address:port"),
// hosts taking turns in proportion to their weight as in Envoy's weighted
// Maglev. A key's host is table[murmur3(hashKey) % size]. When that host is
// unavailable the key is rehashed a few times with a salt (spreading its load
// over the others), then the table is walked forward: deterministic per key.
import type { Endpoint } from '../../config/model';
import type { LbOptions, LbRuntime } from './lb-options';
import type { LoadBalancer, PickContext } from './load-balancer';
import { fmix32, murmur3 } from './murmur3';
import { RingWalk } from './ring-walk';

const DEFAULT_TABLE_SIZE = 65537;
const REHASHES = 8;

export class Maglev implements LoadBalancer {
  /** Host index per table entry (-1 only when there are no hosts). */
  readonly table: Int32Array;
  private readonly random: () => number;
  private readonly walk: RingWalk;

  constructor(endpoints: readonly Endpoint[], options: LbOptions = {}, runtime: LbRuntime = {}) {
    this.random = runtime.random ?? Math.random;
    this.walk = new RingWalk(endpoints.length);
    this.table = buildTable(endpoints, tableSize(options.maglev?.tableSize));
  }

  pick(context?: PickContext): number {
    const table = this.table;
    const size = table.length;
    if (endpointsMissing(table)) return -1;
    const key = context?.hashKey;
    let hash = key === undefined ? (this.random() * 4294967296) >>> 0 : murmur3(key);
    let slot = hash % size;
    const host = table[slot]!;
    const available = context?.isAvailable;
    if (available === undefined || available(host)) return host;
    for (let attempt = 1; attempt <= REHASHES; attempt++) {
      hash = fmix32((hash + Math.imul(attempt, 0x9e3779b9)) | 0);
      slot = hash % size;
      const other = table[slot]!;
      if (available(other)) return other;
    }
    return this.walk.from(table, slot, available);
  }
}

function endpointsMissing(table: Int32Array): boolean {
  return table.length === 0 || table[0]! < 0;
}

/** The configured size if it is a usable prime, else the next prime above it. */
function tableSize(requested: number | undefined): number {
  if (requested === undefined || !Number.isFinite(requested) || requested < 3) return DEFAULT_TABLE_SIZE;
  // Permutations only cover the table when its size is prime.
  let size = Math.min(Math.floor(requested), 5_000_011);
  while (!isPrime(size)) size++;
  return size;
}

function isPrime(v: number): boolean {
  if (v < 2) return false;
  if (v % 2 === 0) return v === 2;
  for (let d = 3; d * d <= v; d += 2) if (v % d === 0) return false;
  return true;
}

function buildTable(endpoints: readonly Endpoint[], size: number): Int32Array {
  const n = endpoints.length;
  const table = new Int32Array(size).fill(-1);
  if (n === 0) return table;
  const offset = new Float64Array(n);
  const skip = new Float64Array(n);
  const next = new Float64Array(n);
  const weight = new Float64Array(n);
  const target = new Float64Array(n);
  const maxWeight = Math.max(...endpoints.map((e) => Math.max(1, e.weight)));
  for (let i = 0; i < n; i++) {
    const name = `${endpoints[i]!.address}:${endpoints[i]!.port}`;
    offset[i] = murmur3(name, 0) % size;
    skip[i] = (murmur3(name, 1) % (size - 1)) + 1;
    weight[i] = Math.max(1, endpoints[i]!.weight) / maxWeight;
  }
  // The heaviest hosts claim an entry every round; a host of half that weight every other round.
  let filled = 0;
  for (let round = 1; filled < size; round++) {
    for (let i = 0; i < n && filled < size; i++) {
      if (round * weight[i]! < target[i]!) continue;
      target[i] = target[i]! + 1;
      let c = (offset[i]! + skip[i]! * next[i]!) % size;
      while (table[c] !== -1) {
        next[i] = next[i]! + 1;
        c = (offset[i]! + skip[i]! * next[i]!) % size;
      }
      table[c] = i;
      next[i] = next[i]! + 1;
      filled++;
    }
  }
  return table;
}
