// What ServiceEntries and DestinationRules declare, joined by host: the
// services, their clusters (one per port, plus one per subset) and each
// cluster's policy. Route building asks it whether a destination exists and
// which hash key its DestinationRule sets. DestinationRule hosts resolve as in
// Istio (short names in the rule's namespace, `*.` wildcards, most specific
// wins); endpoints come from the ServiceEntry or the WorkloadEntries its
// workloadSelector picks.

import { ClusterConfig, ConnectionThresholds, Endpoint, LbOptions, LbPolicy, Locality, Service, clusterName, routeConfigName } from './model';
import {
  DestinationRuleSpec,
  LoadBalancerSpec,
  Manifest,
  ServiceEntrySpec,
  ServicePortSpec,
  SubsetSpec,
  TrafficPolicySpec,
  WorkloadEntrySpec,
} from './manifest-types';
import { clusterTlsOf, pickTls, type TlsSpec } from './cluster-tls';
import type { ClusterTls } from './security-model';
import { hostMatches, isWildcardHost, resolveHostName } from './host-name';
import { WorkloadEntries } from './workload-entries';
import { isRedisPortName } from './redis-model';
import { LabelSets } from './label-sets';

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

const SIMPLE_LB: Readonly<Record<string, LbPolicy>> = {
  ROUND_ROBIN: 'ROUND_ROBIN',
  UNSPECIFIED: 'ROUND_ROBIN',
  LEAST_REQUEST: 'LEAST_REQUEST',
  LEAST_CONN: 'LEAST_REQUEST',
  RANDOM: 'RANDOM',
  PASSTHROUGH: 'PASSTHROUGH',
};

/** The cluster fields a DestinationRule's traffic policy decides (tls is added per port). */
type PolicyFields = Pick<
  ClusterConfig,
  'lbPolicy' | 'connectTimeoutMs' | 'idleTimeoutMs' | 'multiplexing' | 'lb' | 'thresholds' | 'outlierDetection' | 'errorRateBreaker' | 'retryBudget'
>;

interface ClusterPolicy {
  readonly fields: PolicyFields;
  /** Lower-cased metadata key from consistentHash.httpHeaderName (for routes, not a cluster field). */
  readonly hashKey?: string;
}

type NamedPort = ServicePortSpec & { readonly number: number; readonly name: string };

interface HostEntry {
  readonly host: string;
  readonly entry: Manifest<ServiceEntrySpec>;
  readonly ports: readonly NamedPort[];
  readonly endpoints: readonly WorkloadEntrySpec[];
  readonly dns: boolean;
  rule?: Manifest<DestinationRuleSpec>;
  /** Subset name → policy (subset-level fields override the rule's top level). */
  readonly subsets: Map<string, { readonly spec: SubsetSpec; readonly policy: ClusterPolicy }>;
  policy: ClusterPolicy;
  /** Each tls setting translated once (problems reported once), whatever the number of ports and subsets. */
  readonly tlsCache: Map<TlsSpec, ClusterTls | undefined>;
}

export class ServiceCatalog {
  private readonly hosts = new Map<string, HostEntry>();

  private readonly workloads: WorkloadEntries;

  /** Equal label sets and localities of endpoints are one frozen object (a snapshot holds 100k endpoints, a few sets). */
  private readonly labelSets = new LabelSets();
  private readonly localities = new Map<string, Locality | undefined>();

  constructor(
    serviceEntries: readonly Manifest<ServiceEntrySpec>[],
    destinationRules: readonly Manifest<DestinationRuleSpec>[],
    workloadEntries: readonly Manifest<WorkloadEntrySpec>[] = [],
  ) {
    this.workloads = new WorkloadEntries(workloadEntries);
    for (const se of serviceEntries) this.addServiceEntry(se);
    // Exact hosts first, then wildcards from the most specific: a host takes the most specific rule (Istio).
    const rules = destinationRules.flatMap((dr) => (dr.spec.host === undefined ? [] : [{ dr, host: resolveHostName(dr.spec.host, dr.namespace) }]));
    for (const r of rules) if (!isWildcardHost(r.host)) this.addDestinationRule(r.dr, r.host);
    const wildcards = rules.filter((r) => isWildcardHost(r.host)).sort((a, b) => b.host.length - a.host.length);
    for (const r of wildcards) this.addWildcardRule(r.dr, r.host);
  }

  has(host: string): boolean {
    return this.hosts.has(host);
  }

  hostNames(): string[] {
    return [...this.hosts.keys()];
  }

  ports(host: string): number[] {
    return this.hosts.get(host)?.ports.map((p) => p.number) ?? [];
  }

  /** Subset names the host's DestinationRule declares, or undefined when it has none. */
  subsets(host: string): string[] | undefined {
    const entry = this.hosts.get(host);
    return entry?.rule === undefined ? undefined : [...entry.subsets.keys()];
  }

  /** The consistent-hash key for calls to host/subset ("" = whole service), if its rule sets one. */
  hashKey(host: string, subset: string): string | undefined {
    const entry = this.hosts.get(host);
    if (entry === undefined) return undefined;
    return subset === '' ? entry.policy.hashKey : entry.subsets.get(subset)?.policy.hashKey;
  }

  services(): Service[] {
    const out: Service[] = [];
    for (const e of this.hosts.values()) {
      for (const p of e.ports) {
        out.push(
          Object.freeze({
            host: e.host,
            port: p.number,
            portName: p.name,
            protocol: protocolToken(p),
            routeConfigName: routeConfigName(e.host, p.number),
          }),
        );
      }
    }
    return out;
  }

  clusters(): ClusterConfig[] {
    const out: ClusterConfig[] = [];
    for (const e of this.hosts.values()) {
      for (const p of e.ports) {
        const endpoints = this.endpointsFor(e, p);
        out.push(withTls(cluster(e.host, p.number, '', endpoints, e.policy), this.tlsFor(e, p.number, undefined)));
        for (const [name, { spec, policy }] of e.subsets) {
          const want = Object.entries(spec.labels ?? {});
          const picked = endpoints.filter((ep) => want.every(([k, v]) => Object.hasOwn(ep.labels, k) && ep.labels[k] === v));
          if (picked.length === 0 && endpoints.length > 0 && e.rule !== undefined) {
            const i = e.rule.spec.subsets?.indexOf(spec) ?? -1;
            e.rule.doc.warn(
              ['spec', 'subsets', i, 'labels'],
              `subset '${name}' selects no endpoint of host '${e.host}'; its cluster has no endpoints until the labels match one`,
            );
          }
          out.push(withTls(cluster(e.host, p.number, name, picked, policy), this.tlsFor(e, p.number, spec)));
        }
      }
    }
    return out;
  }

  private addServiceEntry(se: Manifest<ServiceEntrySpec>): void {
    const { spec, doc } = se;
    const ports: NamedPort[] = [];
    (spec.ports ?? []).forEach((p, i) => {
      if (p?.number === undefined || p.name === undefined) return;
      const twin = ports.find((q) => q.number === p.number || q.name === p.name);
      if (twin !== undefined) {
        doc.problem(['spec', 'ports', i], `port ${p.number} '${p.name}' repeats the number or name of port ${twin.number} '${twin.name}'; give each port its own number and name`);
        return;
      }
      ports.push(p as NamedPort);
    });
    const selector = spec.workloadSelector;
    if (selector !== undefined && (spec.endpoints ?? []).length > 0) {
      doc.problem(['spec', 'workloadSelector'], 'is set together with endpoints; Istio allows only one of them: list the endpoints or select WorkloadEntries, not both');
    }
    const endpoints =
      selector === undefined
        ? (spec.endpoints ?? []).filter((e): e is WorkloadEntrySpec => e?.address !== undefined)
        : this.workloads.select(se.namespace, selector.labels ?? {});
    const dns = spec.resolution === 'DNS' || spec.resolution === 'DNS_ROUND_ROBIN';
    if (selector !== undefined && endpoints.length === 0) {
      doc.warn(
        ['spec', 'workloadSelector'],
        `selects no WorkloadEntry in namespace '${se.namespace}', so its clusters have no endpoint; in Kubernetes this selector also picks Pods, ` +
          "which only xds mode (istiod) can see: add WorkloadEntry documents with these labels, or run with xds",
      );
    } else if (endpoints.length === 0 && !dns && (spec.endpoints ?? []).length === 0) {
      doc.warn(
        ['spec'],
        `has no endpoints and resolution ${spec.resolution ?? 'NONE'}, so its clusters have no endpoint; add endpoints, a workloadSelector with WorkloadEntries, ` +
          'or set resolution: DNS (endpoints that only Kubernetes knows need xds mode)',
      );
    }
    (spec.hosts ?? []).forEach((host, i) => {
      if (host === undefined) return;
      const other = this.hosts.get(host);
      if (other !== undefined) {
        doc.problem(
          ['spec', 'hosts', i],
          `host '${host}' is also declared by ${other.entry.doc.label} at ${other.entry.doc.where(['spec', 'hosts'])}; declare each host in one ServiceEntry`,
        );
        return;
      }
      this.hosts.set(host, { host, entry: se, ports, endpoints, dns, subsets: new Map(), policy: policyOf(undefined), tlsCache: new Map() });
    });
  }

  /** `host` is spec.host resolved in the rule's namespace. */
  private addDestinationRule(dr: Manifest<DestinationRuleSpec>, host: string): void {
    const { spec, doc } = dr;
    const entry = this.hosts.get(host);
    const as = host === spec.host ? `'${host}'` : `'${spec.host}' (${host} in namespace ${dr.namespace})`;
    if (entry === undefined) {
      const known = this.hostNames().join(', ') || 'none';
      doc.warn(['spec', 'host'], `no ServiceEntry declares host ${as}, so this DestinationRule is ignored; declared hosts: ${known}`);
      return;
    }
    if (entry.rule !== undefined) {
      doc.problem(
        ['spec', 'host'],
        `host ${as} already has ${entry.rule.doc.label} at ${entry.rule.doc.where(['spec', 'host'])}; merge the two into one DestinationRule`,
      );
      return;
    }
    this.applyRule(entry, dr);
  }

  /** A `*.suffix` rule applies to every host under it that no more specific rule claimed. */
  private addWildcardRule(dr: Manifest<DestinationRuleSpec>, pattern: string): void {
    let applied = 0;
    for (const entry of this.hosts.values()) {
      if (entry.rule !== undefined || !hostMatches(pattern, entry.host)) continue;
      this.applyRule(entry, dr);
      applied++;
    }
    if (applied === 0) {
      dr.doc.warn(['spec', 'host'], `'${pattern}' matches no ServiceEntry host without a more specific DestinationRule, so this DestinationRule is ignored`);
    }
  }

  private applyRule(entry: HostEntry, dr: Manifest<DestinationRuleSpec>): void {
    const { spec, doc } = dr;
    entry.rule = dr;
    entry.policy = policyOf(spec.trafficPolicy);
    (spec.subsets ?? []).forEach((subset, i) => {
      if (subset?.name === undefined) return;
      if (entry.subsets.has(subset.name)) {
        doc.problem(['spec', 'subsets', i, 'name'], `subset '${subset.name}' is declared twice; give each subset its own name`);
        return;
      }
      // Aeraki takes a subset's hash key from the subset's own policy only (model.GetHashPolicy):
      // the cluster still merges the top-level balancer, but routes to the subset carry no hash key.
      const ownKey = subset.trafficPolicy?.loadBalancer?.consistentHash?.httpHeaderName?.toLowerCase();
      const fields = policyOf(spec.trafficPolicy, subset.trafficPolicy).fields;
      entry.subsets.set(subset.name, { spec: subset, policy: ownKey === undefined ? { fields } : { fields, hashKey: ownKey } });
    });
  }

  /** DestinationRule tls for one port of the host and one subset (undefined = the whole service). */
  private tlsFor(e: HostEntry, port: number, subset: SubsetSpec | undefined): ClusterTls | undefined {
    const rule = e.rule;
    if (rule === undefined) return undefined;
    const top = rule.spec.trafficPolicy;
    const i = subset === undefined ? -1 : (rule.spec.subsets ?? []).indexOf(subset);
    const picked = pickTls(
      [
        top === undefined ? undefined : { ...top, path: ['spec', 'trafficPolicy'] },
        subset?.trafficPolicy === undefined ? undefined : { ...subset.trafficPolicy, path: ['spec', 'subsets', i, 'trafficPolicy'] },
      ],
      port,
    );
    if (picked === undefined) return undefined;
    if (e.tlsCache.has(picked.spec)) return e.tlsCache.get(picked.spec);
    const tls = clusterTlsOf(picked.spec, picked.path, rule.doc, expectedIdentities(e));
    e.tlsCache.set(picked.spec, tls);
    return tls;
  }

  private endpointsFor(e: HostEntry, p: NamedPort): Endpoint[] {
    const defaultPort = p.targetPort ?? p.number;
    if (e.endpoints.length === 0 && e.dns) {
      return [Object.freeze({ address: e.host, port: defaultPort, labels: Object.freeze({}), weight: 1 })];
    }
    return e.endpoints.map((ep) => {
      const locality = this.locality(ep.locality);
      return Object.freeze({
        address: ep.address as string,
        port: (ep.ports !== undefined && Object.hasOwn(ep.ports, p.name) ? ep.ports[p.name] : undefined) ?? defaultPort,
        labels: this.labelSets.of(ep.labels),
        // protobuf's 0 means unset; Istio treats it as 1.
        weight: ep.weight === undefined || ep.weight === 0 ? 1 : ep.weight,
        ...(locality === undefined ? {} : { locality }),
      });
    });
  }

  private locality(text: string | undefined): Locality | undefined {
    if (text === undefined || text === '') return undefined;
    let locality = this.localities.get(text);
    if (locality === undefined && !this.localities.has(text)) this.localities.set(text, (locality = parseLocality(text)));
    return locality;
  }
}

/** Istio merges a subset's traffic policy over the top level field by field. */
function policyOf(top: TrafficPolicySpec | undefined, subset?: TrafficPolicySpec): ClusterPolicy {
  const lb = subset?.loadBalancer ?? top?.loadBalancer;
  const pool = subset?.connectionPool ?? top?.connectionPool;
  const outlier = subset?.outlierDetection ?? top?.outlierDetection;
  const breaker = subset?.errorRateBreaker ?? top?.errorRateBreaker;
  const budget = subset?.retryBudget ?? top?.retryBudget;
  const hashKey = lb?.consistentHash?.httpHeaderName?.toLowerCase();
  const lbOptions = lbOptionsOf(lb, outlier);
  const thresholds = thresholdsOf(pool);
  const fields: PolicyFields = {
    lbPolicy: lbPolicyOf(lb),
    connectTimeoutMs: pool?.tcp?.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT_MS,
    ...idleTimeoutOf(pool),
    ...(pool?.multiplexing === undefined ? {} : { multiplexing: pool.multiplexing }),
    ...(lbOptions === undefined ? {} : { lb: lbOptions }),
    ...(thresholds === undefined ? {} : { thresholds }),
    ...(outlier === undefined ? {} : { outlierDetection: Object.freeze({ ...outlier }) }),
    ...(breaker === undefined ? {} : { errorRateBreaker: Object.freeze({ ...breaker }) }),
    ...(budget === undefined ? {} : { retryBudget: Object.freeze({ ...budget }) }),
  };
  return hashKey === undefined ? { fields } : { fields, hashKey };
}

/** Idle timeout of pooled connections: Istio's http.idleTimeout, else tcp.idleTimeout (0 or unset: Envoy's default). */
function idleTimeoutOf(pool: TrafficPolicySpec['connectionPool']): { idleTimeoutMs?: number } {
  const ms = pool?.http?.idleTimeout || pool?.tcp?.idleTimeout;
  return ms === undefined || ms === 0 ? {} : { idleTimeoutMs: ms };
}

/** Envoy thresholds from connectionPool. Istio reads 0 as unset (no limit), not as "refuse every call". */
function thresholdsOf(pool: TrafficPolicySpec['connectionPool']): ConnectionThresholds | undefined {
  const t: { -readonly [K in keyof ConnectionThresholds]: ConnectionThresholds[K] } = {};
  const set = (v: number | undefined): v is number => v !== undefined && v !== 0;
  if (set(pool?.tcp?.maxConnections)) t.maxConnections = pool.tcp.maxConnections;
  if (set(pool?.http?.http1MaxPendingRequests)) t.maxPendingRequests = pool.http.http1MaxPendingRequests;
  if (set(pool?.http?.http2MaxRequests)) t.maxRequests = pool.http.http2MaxRequests;
  if (set(pool?.http?.maxRetries)) t.maxRetries = pool.http.maxRetries;
  return Object.keys(t).length === 0 ? undefined : Object.freeze(t);
}

/** Balancer tuning in Istio's terms: warmup, locality settings, ring sizes, and the panic threshold. */
function lbOptionsOf(lb: LoadBalancerSpec | undefined, outlier: TrafficPolicySpec['outlierDetection']): LbOptions | undefined {
  const o: { -readonly [K in keyof LbOptions]: LbOptions[K] } = {};
  const ch = lb?.consistentHash;
  const minimumRingSize = ch?.ringHash?.minimumRingSize ?? ch?.minimumRingSize;
  if (minimumRingSize !== undefined && minimumRingSize > 0) o.ringHash = { minimumRingSize };
  if (ch?.maglev?.tableSize !== undefined && ch.maglev.tableSize > 0) o.maglev = { tableSize: ch.maglev.tableSize };
  if (lb?.warmupDurationSecs !== undefined && lb.warmupDurationSecs > 0) o.slowStart = { windowMs: lb.warmupDurationSecs };
  const locality = lb?.localityLbSetting;
  if (locality !== undefined) {
    o.locality = {
      ...(locality.enabled === undefined ? {} : { enabled: locality.enabled }),
      ...(locality.distribute === undefined ? {} : { distribute: locality.distribute.flatMap((d) => (d?.from === undefined ? [] : [{ from: d.from, to: { ...d.to } }])) }),
      ...(locality.failover === undefined ? {} : { failover: locality.failover.flatMap((f) => (f?.from === undefined || f.to === undefined ? [] : [{ from: f.from, to: f.to }])) }),
      ...(locality.failoverPriority === undefined ? {} : { failoverPriority: locality.failoverPriority.filter((k): k is string => k !== undefined) }),
    };
  }
  // Istio sets the panic threshold from outlierDetection.minHealthPercent (0 when unset) once outlier detection is on.
  if (outlier !== undefined) o.healthyPanicThreshold = outlier.minHealthPercent ?? 0;
  return Object.keys(o).length === 0 ? undefined : Object.freeze(o);
}

function lbPolicyOf(lb: LoadBalancerSpec | undefined): LbPolicy {
  if (lb?.consistentHash !== undefined) return lb.consistentHash.maglev !== undefined ? 'MAGLEV' : 'RING_HASH';
  return SIMPLE_LB[lb?.simple ?? 'UNSPECIFIED'] ?? 'ROUND_ROBIN';
}

function cluster(host: string, port: number, subset: string, endpoints: Endpoint[], policy: ClusterPolicy): ClusterConfig {
  return Object.freeze({
    name: clusterName(host, port, subset),
    host,
    port,
    subset,
    endpoints: Object.freeze(endpoints),
    ...policy.fields,
  });
}

/**
 * The identities ISTIO_MUTUAL expects of a host when the rule names none, as Istio
 * builds them: the ServiceEntry's subjectAltNames and its endpoints' service accounts
 * (`ns/sa`; the SPIFFE id takes the mesh's trust domain at connect time).
 */
function expectedIdentities(e: HostEntry): { subjectAltNames: string[]; serviceAccounts: string[] } {
  const sans = new Set<string>();
  const accounts = new Set<string>();
  for (const san of e.entry.spec.subjectAltNames ?? []) if (san !== undefined) sans.add(san);
  for (const ep of e.endpoints) if (ep.serviceAccount !== undefined) accounts.add(`${e.entry.namespace}/${ep.serviceAccount}`);
  return { subjectAltNames: [...sans], serviceAccounts: [...accounts] };
}

function withTls(c: ClusterConfig, tls: ClusterTls | undefined): ClusterConfig {
  return tls === undefined ? c : Object.freeze({ ...c, tls });
}

/** "thrift" from tcp-metaprotocol-thrift-hello, as Aeraki reads port names; else the port's protocol. */
function protocolToken(p: NamedPort): string {
  if (isRedisPortName(p.name)) return 'redis';
  const prefix = 'tcp-metaprotocol-';
  if (p.name.startsWith(prefix)) {
    const rest = p.name.slice(prefix.length);
    const [token = ''] = rest.split('-', 1);
    if (token !== '') return token;
  }
  return p.protocol?.toLowerCase() ?? '';
}

/** "region/zone/subzone", any part may be missing. */
function parseLocality(text: string | undefined): Locality | undefined {
  if (text === undefined || text === '') return undefined;
  const [region, zone, subZone] = text.split('/');
  const out: { region?: string; zone?: string; subZone?: string } = {};
  if (region) out.region = region;
  if (zone) out.zone = zone;
  if (subZone) out.subZone = subZone;
  return Object.freeze(out);
}
