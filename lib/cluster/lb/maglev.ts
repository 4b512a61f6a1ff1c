// MAGLEV, built as Envoy builds it so a key lands on the same host as
// through the sidecar: hosts sorted by their "address:port" string, each
// with offset = xxHash64(key) % size and skip = xxHash64(key, seed 1) %
// (size − 1) + 1, taking table entries in turns weighted by normalized
// weight (a host of weight w claims an entry in round r when r × w is at
// least its running target, which grows by the largest weight per claim).
// A key's host is table[hash % size], the hash being the route's xxHash64 of
// its hash-policy values. When hosts become unavailable (outlier ejection,
// EDS health) the table is rebuilt from the available ones, as Envoy rebuilds
// it (HealthyView). A retry whose key's host was tried rehashes a few times
// (Envoy's retry mutation, hash ^ (2⁶⁴ − attempt)), then walks the table
// forward: deterministic per key.
import type { Endpoint } from '../../config/model';
import type { LbOptions, LbRuntime } from './lb-options';
import type { LoadBalancer, PickContext } from './load-balancer';
import { hostKey } from './ring-hash';
import { HealthyView } from './healthy-view';
import { RingWalk } from './ring-walk';
import { xxhash64 } from '../../protocol/xxhash64';

/** Envoy's MaglevTable::DefaultTableSize. */
const DEFAULT_TABLE_SIZE = 65537;
const REHASHES = 8;
const MASK = 0xffffffffffffffffn;

/** One table: the host (of the table's own list) at each entry. */
interface Table {
  readonly entries: Int32Array;
  readonly size: bigint;
  readonly walk: RingWalk;
}

export class Maglev implements LoadBalancer {
  /** Host index per table entry over every endpoint (-1 only when there are no hosts). */
  readonly table: Int32Array;
  private readonly random: () => number;
  private readonly healthy: HealthyView<Table>;

  constructor(endpoints: readonly Endpoint[], options: LbOptions = {}, runtime: LbRuntime = {}) {
    this.random = runtime.random ?? Math.random;
    const size = tableSize(options.maglev?.tableSize);
    const full = newTable(endpoints, size);
    this.table = full.entries;
    this.healthy = new HealthyView(endpoints, (subset) => newTable(subset, size), full);
  }

  /** Tables built for changes of health so far. */
  get rebuilds(): number {
    return this.healthy.rebuilds;
  }

  pick(context?: PickContext): number {
    const { table, indices } = this.healthy.current(context);
    const entries = table.entries;
    if (entries.length === 0 || entries[0]! < 0) return -1;
    const key = context?.hashKey;
    const outer = context?.isAvailable;
    const available = outer === undefined || indices === undefined ? outer : (k: number) => outer(indices[k]!);
    const host = this.pickIn(table, key, available);
    return host < 0 || indices === undefined ? host : indices[host]!;
  }

  private pickIn(table: Table, key: bigint | undefined, available: ((index: number) => boolean) | undefined): number {
    const entries = table.entries;
    if (key === undefined) {
      const slot = (this.random() * entries.length) | 0;
      const host = entries[slot]!;
      if (available === undefined || available(host)) return host;
      return table.walk.from(entries, slot, available);
    }
    let slot = Number(key % table.size);
    const host = entries[slot]!;
    if (available === undefined || available(host)) return host;
    // A retry: rehash as Envoy's retry attempts do, then walk on.
    for (let attempt = 1; attempt <= REHASHES; attempt++) {
      slot = Number((key ^ ((MASK - BigInt(attempt) + 1n) & MASK)) % table.size);
      const other = entries[slot]!;
      if (available(other)) return other;
    }
    return table.walk.from(entries, slot, available);
  }
}

function newTable(endpoints: readonly Endpoint[], size: number): Table {
  return { entries: buildTable(endpoints, size), size: BigInt(size), walk: new RingWalk(endpoints.length) };
}

/** The configured size if it is a usable prime, else the next prime above it (Envoy rejects non-primes). */
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
  const table = new Int32Array(size).fill(-1);
  if (endpoints.length === 0) return table;
  // Envoy: normalized weights (w / Σw), entries sorted by the host's key string so the table does not depend on host order.
  const sum = endpoints.reduce((a, e) => a + Math.max(1, e.weight), 0);
  const entries = endpoints
    .map((e, index) => ({ index, key: hostKey(e), weight: Math.max(1, e.weight) / sum }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const maxWeight = Math.max(...entries.map((e) => e.weight));
  const big = BigInt(size);
  const n = entries.length;
  // Each host's place in its permutation, offset + skip × next (mod size), kept as a running sum:
  // the same sequence as computing it each time, without a floating-point modulo per probe (which made
  // a 65537-entry table over 1000 hosts take ~19 ms, a stall of its own while a config applies).
  const place = new Int32Array(n);
  const skip = new Int32Array(n);
  const weight = new Float64Array(n);
  const target = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const e = entries[i]!; // i < n
    place[i] = Number(xxhash64(e.key) % big);
    skip[i] = Number(xxhash64(e.key, 1n) % (big - 1n)) + 1;
    weight[i] = e.weight;
  }
  let filled = 0;
  for (let round = 1; filled < size; round++) {
    for (let i = 0; i < n && filled < size; i++) {
      if (round * weight[i]! < target[i]!) continue;
      target[i] = target[i]! + maxWeight;
      const step = skip[i]!;
      let c = place[i]!; // integers below size (at most 5,000,011): int32 arithmetic
      while (table[c] !== -1) {
        c += step;
        if (c >= size) c -= size;
      }
      table[c] = entries[i]!.index;
      c += step;
      place[i] = c >= size ? c - size : c;
      filled++;
    }
  }
  return table;
}
