// Turns an Istio localityLbSetting into priority levels and locality weights,
// relative to where this process runs, as istiod does before handing Envoy a
// ClusterLoadAssignment:
// - distribute: one level; each matched locality weighted by its rule, the rest get no traffic;
// - failover (the default when enabled): 0 same region/zone/subzone, 1 same zone,
//   2 same region, 3 the failover region named for ours (or any other when none is), 4 the rest;
// - failoverPriority: fewer leading label matches = lower priority; combined with
//   the locality order above when failover is also given.
import type { Endpoint, Locality } from '../../config/model';
import type { LbOptions } from './lb-options';

export interface LocalityGroup {
  /** Endpoint indices in the group, ascending. */
  readonly indices: readonly number[];
  /** Locality weight (distribute); 1 when localities are not weighted. */
  readonly weight: number;
}

/** Groups of one priority level; more than one only under `distribute`. */
export type PriorityLevel = readonly LocalityGroup[];

const REGION_LABEL = 'topology.kubernetes.io/region';
const ZONE_LABEL = 'topology.kubernetes.io/zone';
const SUBZONE_LABEL = 'topology.istio.io/subzone';

/**
 * Whether `options` split endpoints by locality or labels at all. When they
 * do not (no localityLbSetting, disabled, or nothing to compare with), every
 * endpoint is in one level and one group, in order, whatever the endpoints.
 */
export function localityGroupsApply(options: LbOptions): boolean {
  const setting = options.locality;
  return !(setting === undefined || setting.enabled === false || (options.localLocality === undefined && (setting.failoverPriority ?? []).length === 0));
}

/** Priority levels, most preferred first; endpoints excluded by distribute are in none. */
export function localityPriorities(endpoints: readonly Endpoint[], options: LbOptions): PriorityLevel[] {
  const all = endpoints.map((_, i) => i);
  const setting = options.locality;
  const local = options.localLocality;
  const byLabels = setting?.failoverPriority ?? [];
  if (setting === undefined || !localityGroupsApply(options)) {
    return all.length === 0 ? [] : [[{ indices: all, weight: 1 }]];
  }
  if (local !== undefined && setting.distribute !== undefined) {
    const rule = setting.distribute.find((r) => localityMatches(local, r.from));
    if (rule !== undefined) return [distribute(endpoints, rule.to)];
  }
  const byLocality = local !== undefined && (byLabels.length === 0 || (setting.failover?.length ?? 0) > 0);
  const keys = endpoints.map((e) => {
    const labelRank = byLabels.length === 0 ? 0 : labelPriority(e, byLabels, options);
    const localityRank = byLocality ? localityPriority(local!, e.locality ?? {}, setting.failover ?? []) : 0;
    return labelRank * 5 + localityRank;
  });
  const order = [...new Set(keys)].sort((a, b) => a - b);
  return order.map((key) => [{ indices: all.filter((i) => keys[i] === key), weight: 1 }]);
}

/** Istio LocalityMatch: rule `region/zone/subzone`, each part `*` or missing = any. */
export function localityMatches(locality: Locality, rule: string): boolean {
  const [region, zone, subZone] = rule.split('/');
  return (
    (region === '*' || (locality.region ?? '') === region) &&
    (zone === undefined || zone === '' || zone === '*' || (locality.zone ?? '') === zone) &&
    (subZone === undefined || subZone === '' || subZone === '*' || (locality.subZone ?? '') === subZone)
  );
}

function localityKey(l: Locality | undefined): string {
  return `${l?.region ?? ''}/${l?.zone ?? ''}/${l?.subZone ?? ''}`;
}

function distribute(endpoints: readonly Endpoint[], to: Readonly<Record<string, number>>): PriorityLevel {
  // Localities in endpoint order, each with the sum of its endpoints' weights.
  const localities = new Map<string, { indices: number[]; locality: Locality; weight: number }>();
  endpoints.forEach((e, i) => {
    const key = localityKey(e.locality);
    let entry = localities.get(key);
    if (entry === undefined) localities.set(key, (entry = { indices: [], locality: e.locality ?? {}, weight: 0 }));
    entry.indices.push(i);
    entry.weight += Math.max(1, e.weight);
  });
  const unmatched = new Set(localities.keys());
  const groups: LocalityGroup[] = [];
  for (const [rule, share] of Object.entries(to)) {
    const matched = [...unmatched].filter((k) => localityMatches(localities.get(k)!.locality, rule));
    const total = matched.reduce((sum, k) => sum + localities.get(k)!.weight, 0);
    for (const k of matched) {
      unmatched.delete(k);
      // A wildcard target matching several localities splits its share by their size.
      const weight = Math.ceil((localities.get(k)!.weight * share) / total);
      if (weight > 0) groups.push({ indices: localities.get(k)!.indices, weight });
    }
  }
  return groups;
}

function localityPriority(local: Locality, other: Locality, failover: readonly { from: string; to: string }[]): number {
  if ((local.region ?? '') === (other.region ?? '')) {
    if ((local.zone ?? '') === (other.zone ?? '')) return (local.subZone ?? '') === (other.subZone ?? '') ? 0 : 1;
    return 2;
  }
  const rule = failover.find((f) => f.from === (local.region ?? ''));
  return rule === undefined || rule.to === (other.region ?? '') ? 3 : 4;
}

function labelPriority(e: Endpoint, keys: readonly string[], options: LbOptions): number {
  let rank = keys.length;
  for (const entry of keys) {
    const eq = entry.indexOf('=');
    const key = eq < 0 ? entry : entry.slice(0, eq);
    const wanted = eq < 0 ? labelOf(key, options.localLabels ?? {}, options.localLocality) : entry.slice(eq + 1);
    if (wanted === undefined || labelOf(key, e.labels, e.locality) !== wanted) break;
    rank--;
  }
  return rank;
}

/** A label value; the topology labels fall back to the locality they describe. */
function labelOf(key: string, labels: Readonly<Record<string, string>>, locality: Locality | undefined): string | undefined {
  const value = labels[key];
  if (value !== undefined) return value;
  if (key === REGION_LABEL) return locality?.region;
  if (key === ZONE_LABEL) return locality?.zone;
  if (key === SUBZONE_LABEL) return locality?.subZone;
  return undefined;
}
