// Ipv4EndpointCounts: a count per IPv4 endpoint (address and port), kept in
// typed arrays rather than JS Maps. At 100k endpoints the census's Maps were
// ~3.9 MB of tables on the V8 heap, rebuilt as they grew while an update
// applied: young collections during the update copied them, and their pause
// grows with what survives. A typed array's backing store lives outside the
// V8 heap (an ArrayBuffer), so no collection copies or scans it.
//
// Open addressing with linear probing over three parallel columns (address
// as uint32, port, count). A slot is in use while its count is not zero;
// deletion shifts the rest of the probe run back (no tombstones), so lookups
// never slow down after many removals. Counts are plain sums and may go
// below zero for a while (steps of different updates interleave).

/** Slots of a new table; it doubles when more than half full. */
const INITIAL_SLOTS = 1024;
/**
 * Old slots moved to the doubled table with each add while it grows. The new
 * table stays under half full: it has twice the old slots, and the old ones
 * are all moved within a quarter of the old slots' worth of adds.
 */
const MOVES_PER_ADD = 8;
/** Marks an old slot whose entry has moved to the new table (counts never reach it). */
const MOVED = -0x80000000;

interface Columns {
  readonly addresses: Uint32Array;
  readonly ports: Uint16Array;
  readonly counts: Int32Array;
  readonly mask: number;
}

function columns(slots: number): Columns {
  return { addresses: new Uint32Array(slots), ports: new Uint16Array(slots), counts: new Int32Array(slots), mask: slots - 1 };
}

export class Ipv4EndpointCounts {
  private table = columns(INITIAL_SLOTS);
  /**
   * The table before the last doubling, while its entries move over a few
   * per add (so no add rehashes 100k entries at once: a rehash in one step
   * took 4-9 ms at 128k-256k entries). Each entry is in one table only.
   */
  private old: Columns | undefined;
  /** Next old slot to move. */
  private cursor = 0;
  /** Endpoints with a count (in both tables). */
  size = 0;

  /** Slots in the table now (tests watch it grow). */
  get capacity(): number {
    return this.table.mask + 1;
  }

  /** Whether an older, smaller table is still being moved into the new one. */
  get growing(): boolean {
    return this.old !== undefined;
  }

  /** Adds `n` to the count of `address:port` (address as a uint32, port 0-65535); returns the new count. */
  add(address: number, port: number, n: number): number {
    if (this.old !== undefined) this.move(MOVES_PER_ADD);
    if ((this.size + 1) * 2 > this.table.mask + 1) this.grow();
    let moved = 0;
    const old = this.old;
    if (old !== undefined) {
      // An entry still in the old table moves now, so the new table holds the one count.
      const k = find(old, address, port);
      if (k >= 0) {
        moved = old.counts[k]!; // k <= mask
        old.counts[k] = MOVED;
        this.size--;
      }
    }
    return this.addNew(address, port, moved + n);
  }

  /** The count of `address:port`; 0 when none. */
  get(address: number, port: number): number {
    const table = this.table;
    const i = find(table, address, port);
    if (i >= 0) return table.counts[i]!; // i <= mask
    const old = this.old;
    if (old === undefined) return 0;
    const k = find(old, address, port);
    return k < 0 ? 0 : old.counts[k]!;
  }

  /**
   * Makes an empty table big enough for `n` endpoints at once, so counting
   * them in (a mesh's first config) never doubles it or moves entries. Does
   * nothing to a table that holds entries: they would all move in one go.
   */
  reserve(n: number): void {
    if (this.size !== 0 || this.old !== undefined) return;
    let slots = this.table.mask + 1;
    while (slots < 2 * (n + 1)) slots *= 2;
    if (slots !== this.table.mask + 1) this.table = columns(slots);
  }

  /** Moves up to `slots` old slots into the new table; false once none are left to move. */
  move(slots: number): boolean {
    const old = this.old;
    if (old === undefined) return false;
    const { addresses, ports, counts } = old;
    const end = Math.min(counts.length, this.cursor + slots);
    for (let k = this.cursor; k < end; k++) {
      const count = counts[k]!; // k < length
      if (count === 0 || count === MOVED) continue;
      counts[k] = MOVED;
      place(this.table, addresses[k]!, ports[k]!, count);
    }
    this.cursor = end;
    if (end < counts.length) return true;
    this.old = undefined;
    return false;
  }

  private addNew(address: number, port: number, n: number): number {
    if (n === 0) return this.get(address, port);
    const { addresses, ports, counts, mask } = this.table;
    let i = slotOf(address, port) & mask;
    for (;;) {
      const count = counts[i]!; // i <= mask
      if (count === 0) {
        addresses[i] = address;
        ports[i] = port;
        counts[i] = n;
        this.size++;
        return n;
      }
      if (addresses[i] === address && ports[i] === port) {
        const next = count + n;
        if (next === 0) this.remove(i);
        else counts[i] = next;
        return next;
      }
      i = (i + 1) & mask;
    }
  }

  /** Frees slot `hole`, moving back each later entry of its probe run that may not sit after a free slot. */
  private remove(hole: number): void {
    const { addresses, ports, counts, mask } = this.table;
    let j = hole;
    for (;;) {
      j = (j + 1) & mask;
      if (counts[j] === 0) break;
      const home = slotOf(addresses[j]!, ports[j]!) & mask;
      // The entry at j may move to the hole only if its home slot is not in (hole, j] (cyclically).
      const stays = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (stays) continue;
      addresses[hole] = addresses[j]!;
      ports[hole] = ports[j]!;
      counts[hole] = counts[j]!;
      hole = j;
    }
    counts[hole] = 0;
    this.size--;
  }

  /** Starts moving into a table of twice the slots (after the last move, which the adds always finish first). */
  private grow(): void {
    this.move(Infinity);
    this.old = this.table;
    this.cursor = 0;
    this.table = columns((this.table.mask + 1) * 2);
  }
}

/** The slot of `address:port` in `table` (skipping moved-out slots), or -1. */
function find(table: Columns, address: number, port: number): number {
  const { addresses, ports, counts, mask } = table;
  let i = slotOf(address, port) & mask;
  for (;;) {
    const count = counts[i]!; // i <= mask
    if (count === 0) return -1;
    if (count !== MOVED && addresses[i] === address && ports[i] === port) return i;
    i = (i + 1) & mask;
  }
}

/** Puts an entry that `table` does not hold yet into its first free slot. */
function place(table: Columns, address: number, port: number, count: number): void {
  const { addresses, ports, counts, mask } = table;
  let i = slotOf(address, port) & mask;
  while (counts[i] !== 0) i = (i + 1) & mask;
  addresses[i] = address;
  ports[i] = port;
  counts[i] = count;
}

/** Mixes address and port into a slot hash (murmur3's 32-bit finalizer): neighbouring addresses land far apart. */
function slotOf(address: number, port: number): number {
  let h = address ^ Math.imul(port, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/**
 * `text[start, end)` as a uint32 when it is an IPv4 address written the one
 * canonical way (four decimal parts 0-255, no leading zeros), else -1. Only
 * canonical text maps to a number, so two strings share a slot exactly when
 * they are equal strings.
 */
export function parseIpv4(text: string, start: number, end: number): number {
  let value = 0;
  let parts = 0;
  let part = -1;
  let digits = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 46 /* . */) {
      if (digits === 0 || parts === 3) return -1;
      value = value * 256 + part;
      parts++;
      part = -1;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (part === 0) return -1; // a leading zero
      part = (part < 0 ? 0 : part * 10) + (c - 48);
      if (part > 255) return -1;
      digits++;
    } else return -1;
  }
  if (digits === 0 || parts !== 3) return -1;
  return value * 256 + part;
}
