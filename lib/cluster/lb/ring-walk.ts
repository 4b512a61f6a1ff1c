// The consistent-hash fallback when a key's host is unavailable: walk forward
// from the key's slot to the next available host. Each host is asked at most
// once per walk (a ring repeats hosts), so a walk costs at most one call per
// host even when every host is down.

export class RingWalk {
  private readonly seen: Uint32Array;
  private stamp = 0;

  constructor(private readonly hostCount: number) {
    this.seen = new Uint32Array(hostCount);
  }

  /** The first available host in `slots` at or after `start` (wrapping), or -1. */
  from(slots: Int32Array, start: number, available: (index: number) => boolean): number {
    if (++this.stamp === 0xffffffff) {
      this.seen.fill(0);
      this.stamp = 1;
    }
    const stamp = this.stamp;
    const seen = this.seen;
    const length = slots.length;
    let asked = 0;
    for (let k = 0, pos = start; k < length; k++, pos = pos + 1 === length ? 0 : pos + 1) {
      const host = slots[pos]!;
      if (host < 0 || seen[host] === stamp) continue;
      if (available(host)) return host;
      seen[host] = stamp;
      if (++asked === this.hostCount) break;
    }
    return -1;
  }
}
