// Priority failover, locality weights and the panic threshold around any
// balancer, with Envoy's arithmetic. Endpoints are grouped into priority
// levels (and, under `distribute`, weighted localities) by localityPriorities;
// each group gets its own inner balancer over just its endpoints.
// - A level's health is min(100, 1.4 x available share); levels take load in
//   order until 100% is covered, scaled up when the sum falls short.
// - When that sum is below 100% and a level's available share is below
//   healthyPanicThreshold, the level balances over all of its hosts.
// - A locality's weight counts as weight x min(1, 1.4 x its available share).
// Shares are recounted when PickContext.availabilityVersion changes, not per pick.
import type { Endpoint } from '../../config/model';
import type { LbOptions, LbRuntime } from './lb-options';
import type { LoadBalancer, PickContext } from './load-balancer';
import { localityGroupsApply, localityPriorities } from './locality-priorities';
import { fmix32 } from './murmur3';

export type InnerBalancerFactory = (endpoints: readonly Endpoint[]) => LoadBalancer;

const LEVEL_SEED = 0x6c6f63; // keeps the level choice independent of the inner balancer's hash
const TWO_32 = 4294967296;
/** availabilityVersion of picks where only EDS health (fixed per snapshot) rules hosts out; never a detector's or a retry's. */
const EDS_HEALTH_VERSION = -0.5;

/** How availability was last counted. */
const enum Counted {
  Never,
  Static, // no isAvailable: only EDS health
  Versioned,
  Sampled, // isAvailable without a version: recounted every `recountEvery` picks
}

export class LocalityAware implements LoadBalancer {
  private readonly levels: Level[];
  private readonly healthy: Uint8Array;
  /** No endpoint is unhealthy by EDS. */
  private readonly allHealthy: boolean;
  private readonly overprovisioning: number;
  private readonly panicThreshold: number;
  private readonly random: () => number;
  /** The single group, when there is exactly one level with one group covering every endpoint in order. */
  private readonly only: Group | undefined;
  private readonly recountEvery: number;
  private counted = Counted.Never;
  private countedVersion: number | undefined;
  private picksSinceCount = 0;

  constructor(endpoints: readonly Endpoint[], options: LbOptions, inner: InnerBalancerFactory, runtime: LbRuntime = {}) {
    this.random = runtime.random ?? Math.random;
    this.overprovisioning = positive(options.overprovisioningFactor, 1.4);
    const threshold = options.healthyPanicThreshold ?? 50;
    this.panicThreshold = Number.isFinite(threshold) ? Math.min(100, Math.max(0, threshold)) : 50;
    // Loops, not TypedArray.from / Array.from with a mapping function: those allocate young garbage per endpoint (see endpoint-weights.ts).
    const n = endpoints.length;
    const healthy = new Uint8Array(n);
    let allHealthy = true;
    for (let i = 0; i < n; i++) {
      const h = endpoints[i]!.healthy === false ? 0 : 1; // i < n
      healthy[i] = h;
      if (h === 0) allHealthy = false;
    }
    this.healthy = healthy;
    this.allHealthy = allHealthy;
    this.recountEvery = Math.max(1024, n);
    if (!localityGroupsApply(options)) {
      // One group of every endpoint in order (no locality setting, the usual case): no grouping to compute or check.
      const indices = new Int32Array(n);
      for (let i = 0; i < n; i++) indices[i] = i;
      const only = n === 0 ? undefined : new Group(indices, 1, endpoints, inner, healthy, allHealthy);
      this.levels = only === undefined ? [] : [new Level([only])];
      this.only = only;
      return;
    }
    this.levels = localityPriorities(endpoints, options).map(
      (groups) => new Level(groups.map((g) => new Group(Int32Array.from(g.indices), g.weight, endpoints, inner, this.healthy))),
    );
    const first = this.levels.length === 1 && this.levels[0]!.groups.length === 1 ? this.levels[0]!.groups[0]! : undefined;
    this.only = first !== undefined && first.indices.length === n && first.indices.every((v, i) => v === i) ? first : undefined;
  }

  /**
   * The inner balancer alone when nothing here would change its picks (one level,
   * every endpoint healthy by EDS, no panic threshold), else a LocalityAware around it.
   */
  static wrap(endpoints: readonly Endpoint[], options: LbOptions, inner: InnerBalancerFactory, runtime: LbRuntime = {}): LoadBalancer {
    const aware = new LocalityAware(endpoints, options, inner, runtime);
    const only = aware.only;
    if (only !== undefined && aware.panicThreshold === 0 && aware.allHealthy) return only.balancer;
    return aware;
  }

  pick(context?: PickContext): number {
    this.recountIfStale(context);
    const only = this.only;
    if (only !== undefined) {
      // Identity indices: the caller's context only needs rewriting for EDS health or panic.
      const level = this.levels[0]!;
      if (!level.panic && only.allHealthy) return only.balancer.pick(context);
      return only.pick(context, level.panic);
    }
    const levels = this.levels;
    if (levels.length === 0) return -1;
    const key = context?.hashKey;
    const hash = key === undefined ? -1 : fmix32(Number(key & 0xffffffffn) ^ LEVEL_SEED) >>> 0;
    const r = hash < 0 ? this.random() : hash / TWO_32;
    let chosen = levels.length - 1;
    for (let p = 0; p < levels.length; p++) {
      if (r * 100 < levels[p]!.loadUpTo) {
        chosen = p;
        break;
      }
    }
    const r2 = hash < 0 ? this.random() : ((hash * 2654435761) >>> 0) / TWO_32;
    const picked = levels[chosen]!.pick(context, r2);
    if (picked >= 0) return picked;
    // Counts can lag the caller's isAvailable; try the other levels in priority order.
    for (let p = 0; p < levels.length; p++) {
      if (p === chosen) continue;
      const other = levels[p]!.pick(context, r2);
      if (other >= 0) return other;
    }
    return -1;
  }

  private recountIfStale(context: PickContext | undefined): void {
    const available = context?.isAvailable;
    if (available === undefined) {
      if (this.counted !== Counted.Static) this.recount(undefined, Counted.Static);
      return;
    }
    const version = context!.availabilityVersion;
    if (version !== undefined) {
      if (this.counted !== Counted.Versioned || version !== this.countedVersion) this.recount(available, Counted.Versioned, version);
      return;
    }
    if (this.counted !== Counted.Sampled || ++this.picksSinceCount >= this.recountEvery) this.recount(available, Counted.Sampled);
  }

  private recount(available: ((index: number) => boolean) | undefined, how: Counted, version?: number): void {
    this.counted = how;
    this.countedVersion = version;
    this.picksSinceCount = 0;
    const levels = this.levels;
    const over = this.overprovisioning;
    let healthSum = 0;
    for (const level of levels) {
      level.count(available);
      level.health = Math.min(100, (over * 100 * level.available) / Math.max(1, level.size));
      healthSum += level.health;
    }
    const totalHealth = Math.min(100, healthSum);
    let remaining = 100;
    let upTo = 0;
    for (let p = 0; p < levels.length; p++) {
      const level = levels[p]!;
      // With nothing available anywhere, all load goes to the first level (where panic may apply).
      const load = totalHealth === 0 ? (p === 0 ? 100 : 0) : Math.min(remaining, (level.health * 100) / totalHealth);
      remaining -= load;
      upTo += load;
      level.loadUpTo = p === levels.length - 1 ? 100 : upTo;
      level.panic = this.panicThreshold > 0 && totalHealth < 100 && (100 * level.available) / Math.max(1, level.size) < this.panicThreshold;
      level.weigh(over);
    }
  }
}

class Level {
  /** Cumulative load share (percent) up to and including this level. */
  loadUpTo = 100;
  health = 100;
  available = 0;
  panic = false;
  readonly size: number;
  private readonly cumulative: Float64Array;
  private readonly cumulativeAll: Float64Array;

  constructor(readonly groups: readonly Group[]) {
    this.size = groups.reduce((sum, g) => sum + g.indices.length, 0);
    this.cumulative = new Float64Array(groups.length);
    this.cumulativeAll = new Float64Array(groups.length);
    let all = 0;
    groups.forEach((g, k) => (this.cumulativeAll[k] = all += g.weight));
  }

  count(available: ((index: number) => boolean) | undefined): void {
    let sum = 0;
    for (const g of this.groups) sum += g.count(available);
    this.available = sum;
  }

  /** Locality weights scaled by availability, as Envoy's locality-weighted balancing does. */
  weigh(over: number): void {
    let total = 0;
    this.groups.forEach((g, k) => {
      const share = Math.min(1, (over * g.available) / Math.max(1, g.indices.length));
      this.cumulative[k] = total += g.weight * share;
    });
  }

  pick(context: PickContext | undefined, r: number): number {
    const groups = this.groups;
    if (groups.length === 1) return groups[0]!.pick(context, this.panic);
    const cumulative = this.panic ? this.cumulativeAll : this.cumulative;
    const total = cumulative[cumulative.length - 1]!;
    let chosen = -1;
    if (total > 0) {
      const target = r * total;
      for (let k = 0; k < groups.length; k++) {
        if (target < cumulative[k]!) {
          chosen = k;
          break;
        }
      }
    }
    if (chosen >= 0) {
      const picked = groups[chosen]!.pick(context, this.panic);
      if (picked >= 0) return picked;
    }
    for (let k = 0; k < groups.length; k++) {
      if (k === chosen || groups[k]!.weight <= 0) continue;
      const picked = groups[k]!.pick(context, this.panic);
      if (picked >= 0) return picked;
    }
    return -1;
  }
}

/** One locality (or one whole level) with its own balancer over its endpoints. */
class Group {
  readonly balancer: LoadBalancer;
  readonly allHealthy: boolean;
  available = 0;
  private readonly context: GroupContext;

  constructor(
    readonly indices: Int32Array,
    readonly weight: number,
    endpoints: readonly Endpoint[],
    inner: InnerBalancerFactory,
    private readonly healthy: Uint8Array,
    /** Whether every endpoint at `indices` is healthy, when the caller knows. */
    allHealthy?: boolean,
  ) {
    this.balancer = inner(subsetOf(endpoints, indices));
    this.allHealthy = allHealthy ?? indices.every((i) => healthy[i] === 1);
    this.context = new GroupContext(indices, healthy, this.allHealthy);
  }

  count(available: ((index: number) => boolean) | undefined): number {
    let sum = 0;
    for (const i of this.indices) if (this.healthy[i] === 1 && (available === undefined || available(i))) sum++;
    return (this.available = sum);
  }

  /** An endpoint index (of the whole cluster), or -1. */
  pick(context: PickContext | undefined, panic: boolean): number {
    const ctx = this.context;
    ctx.bind(context, panic);
    const j = this.balancer.pick(ctx);
    ctx.outer = undefined;
    return j < 0 ? -1 : this.indices[j]!;
  }
}

/** A PickContext in the group's own index space, reused across picks. */
class GroupContext implements PickContext {
  hashKey: bigint | undefined = undefined;
  availabilityVersion: number | undefined = undefined;
  attempt: number | undefined = undefined;
  isAvailable: ((index: number) => boolean) | undefined = undefined;
  activeRequests: ((index: number) => number) | undefined = undefined;
  addedAt: ((index: number) => number) | undefined = undefined;
  outer: PickContext | undefined = undefined;
  private readonly available: (index: number) => boolean;
  private readonly healthyOnly: (index: number) => boolean;
  private readonly active: (index: number) => number;
  private readonly added: (index: number) => number;

  constructor(
    indices: Int32Array,
    healthy: Uint8Array,
    private readonly allHealthy: boolean,
  ) {
    this.available = (j) => {
      const i = indices[j]!;
      return healthy[i] === 1 && this.outer!.isAvailable!(i);
    };
    this.healthyOnly = (j) => healthy[indices[j]!] === 1;
    this.active = (j) => this.outer!.activeRequests!(indices[j]!);
    this.added = (j) => this.outer!.addedAt!(indices[j]!);
  }

  bind(outer: PickContext | undefined, panic: boolean): void {
    this.outer = outer;
    this.hashKey = outer?.hashKey;
    this.availabilityVersion = outer?.availabilityVersion;
    this.attempt = outer?.attempt;
    if (panic) this.isAvailable = undefined;
    else if (outer?.isAvailable !== undefined) this.isAvailable = this.available;
    else {
      this.isAvailable = this.allHealthy ? undefined : this.healthyOnly;
      // EDS health alone never changes for this balancer: one version, so a hashing balancer builds its healthy view once.
      if (!this.allHealthy && outer?.availabilityVersion === undefined) this.availabilityVersion = EDS_HEALTH_VERSION;
    }
    this.activeRequests = outer?.activeRequests !== undefined ? this.active : undefined;
    this.addedAt = outer?.addedAt !== undefined ? this.added : undefined;
  }
}

/** The endpoints at `indices`: the list itself when they are all of it in order (one locality, the usual case), so it is not copied. */
function subsetOf(endpoints: readonly Endpoint[], indices: Int32Array): readonly Endpoint[] {
  const n = indices.length;
  let identity = n === endpoints.length;
  for (let k = 0; identity && k < n; k++) identity = indices[k] === k;
  if (identity) return endpoints;
  const subset = new Array<Endpoint>(n);
  for (let k = 0; k < n; k++) subset[k] = endpoints[indices[k]!]!; // k < n; indices are into endpoints
  return subset;
}

function positive(value: number | undefined, fallback: number): number {
  return value !== undefined && Number.isFinite(value) && value > 0 ? value : fallback;
}
