// An Envoy Cluster (CDS) and its ClusterLoadAssignment (EDS, or the
// cluster's inline load_assignment) → the model ClusterConfig. Host, port and
// subset come from Istio's cluster name `outbound|<port>|<subset>|<host>`.
import { LabelSets } from '../config/label-sets';
import type { ClusterConfig, Endpoint, LbPolicy, Locality } from '../config/model';
import { MeshError, MeshErrorCode } from '../protocol';
import { policiesFromXds } from './cluster-policies-xds';
import { idleTimeoutFromXds } from './cluster-protocol-options-xds';
import { clusterTlsFromXds } from './cluster-tls-xds';
import { durationMs, durationProblem } from './duration-ms';
import type { ClusterLoadAssignmentProto, ClusterProto, DurationProto, HealthStatusName, LbEndpointProto, LocalityLbEndpointsProto, StructProto } from './envoy-types';

/** Envoy's default connect_timeout. */
const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;

const LB_POLICIES: Readonly<Record<string, LbPolicy>> = {
  ROUND_ROBIN: 'ROUND_ROBIN',
  LEAST_REQUEST: 'LEAST_REQUEST',
  RING_HASH: 'RING_HASH',
  RANDOM: 'RANDOM',
  MAGLEV: 'MAGLEV',
  CLUSTER_PROVIDED: 'PASSTHROUGH',
};

/** Envoy routes to UNKNOWN, HEALTHY and DEGRADED hosts; the others take no new calls. */
const UNHEALTHY: ReadonlySet<HealthStatusName> = new Set(['UNHEALTHY', 'DRAINING', 'TIMEOUT']);

/** The filter_metadata namespace Envoy's subset balancer reads labels from. */
const LABELS_NAMESPACE = 'envoy.lb';

/** Envoy's DiscoveryType and LbPolicy values (validate.rules enum defined_only). */
const DISCOVERY_TYPES: ReadonlySet<string> = new Set(['STATIC', 'STRICT_DNS', 'LOGICAL_DNS', 'EDS', 'ORIGINAL_DST']);
const HEALTH_STATUSES: ReadonlySet<string> = new Set(['UNKNOWN', 'HEALTHY', 'UNHEALTHY', 'DRAINING', 'TIMEOUT', 'DEGRADED']);
/** Envoy's upper bounds: RingHashLbConfig ring sizes, MaglevLbConfig table size, LocalityLbEndpoints priority. */
const MAX_RING_SIZE = 8_388_608;
const MAX_MAGLEV_TABLE = 5_000_011;
const MAX_PRIORITY = 128;

/**
 * Checks a CDS resource before it is accepted, by Envoy's validation rules
 * for the fields meta-mesh reads: an enum value Envoy does not define, a
 * duration that is not above 0, a percentage above 100, a size beyond
 * Envoy's bound make the resource invalid. Throws MeshError CONFIG with the reason.
 */
export function checkClusterFromXds(c: ClusterProto): void {
  if (c.name === undefined || c.name === '') throw invalid('', 'has no name');
  const name = c.name;
  if (c.type !== undefined && !DISCOVERY_TYPES.has(String(c.type))) {
    throw invalid(name, `has type ${c.type}, which is not a discovery type Envoy defines; use STATIC, STRICT_DNS, LOGICAL_DNS, EDS or ORIGINAL_DST`);
  }
  if (c.lb_policy === 'LOAD_BALANCING_POLICY_CONFIG') {
    throw invalid(name, 'uses lb_policy LOAD_BALANCING_POLICY_CONFIG, which meta-mesh does not read; use ROUND_ROBIN, LEAST_REQUEST, RANDOM, RING_HASH or MAGLEV');
  }
  if (c.lb_policy !== undefined && LB_POLICIES[String(c.lb_policy)] === undefined) {
    throw invalid(name, `has lb_policy ${c.lb_policy}, which is not a policy Envoy defines; use ROUND_ROBIN, LEAST_REQUEST, RANDOM, RING_HASH or MAGLEV`);
  }
  checkDuration(name, 'connect_timeout', c.connect_timeout);
  checkPolicies(c);
  idleTimeoutFromXds(c);
  clusterTlsFromXds(c);
  if (c.load_assignment !== undefined && c.load_assignment !== null) checkAssignment(c.load_assignment, name);
}

function checkPolicies(c: ClusterProto): void {
  const name = c.name as string;
  for (const [i, t] of (c.circuit_breakers?.thresholds ?? []).entries()) {
    if (t?.priority !== undefined && t.priority !== 'DEFAULT' && t.priority !== 'HIGH') {
      throw invalid(name, `circuit_breakers.thresholds[${i}] has priority ${t.priority}; use DEFAULT or HIGH`);
    }
  }
  const od = c.outlier_detection;
  if (od !== undefined && od !== null) {
    checkDuration(name, 'outlier_detection.interval', od.interval);
    checkDuration(name, 'outlier_detection.base_ejection_time', od.base_ejection_time);
    checkAtMost(name, 'outlier_detection.max_ejection_percent', od.max_ejection_percent?.value, 100);
    checkAtMost(name, 'outlier_detection.enforcing_consecutive_5xx', od.enforcing_consecutive_5xx?.value, 100);
  }
  const minRing = c.ring_hash_lb_config?.minimum_ring_size?.value;
  const maxRing = c.ring_hash_lb_config?.maximum_ring_size?.value;
  checkAtMost(name, 'ring_hash_lb_config.minimum_ring_size', minRing, MAX_RING_SIZE);
  checkAtMost(name, 'ring_hash_lb_config.maximum_ring_size', maxRing, MAX_RING_SIZE);
  if (minRing !== undefined && minRing !== null && maxRing !== undefined && maxRing !== null && Number(minRing) > Number(maxRing)) {
    throw invalid(name, `ring_hash_lb_config.minimum_ring_size ${minRing} is above maximum_ring_size ${maxRing}; Envoy refuses it`);
  }
  const table = c.maglev_lb_config?.table_size?.value;
  checkAtMost(name, 'maglev_lb_config.table_size', table, MAX_MAGLEV_TABLE);
  if (table !== undefined && table !== null && !isPrime(Number(table))) {
    throw invalid(name, `maglev_lb_config.table_size ${table} is not a prime number, which Maglev needs; use a prime such as 65537`);
  }
  const panic = c.common_lb_config?.healthy_panic_threshold?.value;
  if (panic !== undefined && panic !== null && !(Number(panic) >= 0 && Number(panic) <= 100)) {
    throw invalid(name, `common_lb_config.healthy_panic_threshold ${panic} is not a percentage; set a value from 0 to 100`);
  }
}

/**
 * Checks a ClusterLoadAssignment (an EDS resource, or a cluster's inline
 * load_assignment) before it is accepted. `resource`: an EDS resource, which
 * must be named.
 */
export function checkAssignment(cla: ClusterLoadAssignmentProto, where = cla.cluster_name ?? '', resource = false): void {
  if (resource) checkAssignmentName(cla.cluster_name);
  (cla.endpoints ?? []).forEach((group, g) => {
    checkLocalityGroup(where, group, g);
    (group.lb_endpoints ?? []).forEach((e, i) => checkLbEndpoint(where, e, g, i));
  });
}

/** An EDS resource must be named. */
export function checkAssignmentName(name: string | undefined): void {
  if (name === undefined || name === '') throw new MeshError(MeshErrorCode.CONFIG, 'a ClusterLoadAssignment has no cluster_name; name the EDS resource');
}

/** Checks the locality fields of `endpoints[g]` (its endpoints apart: checkLbEndpoint). */
export function checkLocalityGroup(where: string, group: LocalityLbEndpointsProto, g: number): void {
  const weight = group.load_balancing_weight?.value;
  if (weight !== undefined && weight !== null && Number(weight) < 1) {
    throw invalid(where, `endpoints[${g}].load_balancing_weight is ${weight}; a locality weight must be at least 1`);
  }
  if ((group.priority ?? 0) > MAX_PRIORITY) throw invalid(where, `endpoints[${g}].priority is ${group.priority}; Envoy allows 0 to ${MAX_PRIORITY}`);
}

/** Checks `endpoints[g].lb_endpoints[i]`. */
export function checkLbEndpoint(where: string, e: LbEndpointProto, g: number, i: number): void {
  const sa = e.endpoint?.address?.socket_address;
  if (sa?.address === undefined || sa.address === '') {
    throw invalid(where, `endpoints[${g}].lb_endpoints[${i}] has no socket address; meta-mesh connects over TCP to address:port_value`);
  }
  if (sa.port_value === undefined || sa.port_value === 0 || sa.port_value > 65535) {
    throw invalid(where, `endpoints[${g}].lb_endpoints[${i}] (${sa.address}) has port ${sa.port_value ?? 'unset'}; set port_value to a TCP port`);
  }
  const w = e.load_balancing_weight?.value;
  if (w !== undefined && w !== null && Number(w) < 1) {
    throw invalid(where, `endpoints[${g}].lb_endpoints[${i}] (${sa.address}) has load_balancing_weight ${w}; an endpoint weight must be at least 1`);
  }
  if (e.health_status !== undefined && !HEALTH_STATUSES.has(String(e.health_status))) {
    throw invalid(where, `endpoints[${g}].lb_endpoints[${i}] (${sa.address}) has health_status ${e.health_status}, which Envoy does not define`);
  }
}

function checkDuration(name: string, field: string, d: DurationProto | null | undefined): void {
  if (d === undefined || d === null) return;
  const problem = durationProblem(d, true);
  if (problem !== undefined) throw invalid(name, `${field} ${problem}`);
}

function checkAtMost(name: string, field: string, value: number | string | null | undefined, max: number): void {
  if (value !== undefined && value !== null && Number(value) > max) throw invalid(name, `${field} is ${value}; Envoy allows at most ${max}`);
}

function isPrime(n: number): boolean {
  if (!Number.isInteger(n) || n < 2) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
}

/** Whether the cluster's endpoints come from EDS, and under which name. */
export function edsServiceName(c: ClusterProto): string | undefined {
  if (c.type !== 'EDS') return undefined;
  const name = c.eds_cluster_config?.service_name;
  return name === undefined || name === '' ? c.name : name;
}

/** The model cluster; `assignment` is the EDS resource for EDS clusters (else the inline one is used). */
export function clusterFromXds(c: ClusterProto, assignment: ClusterLoadAssignmentProto | undefined): ClusterConfig {
  return clusterFromXdsEndpoints(c, c.type === 'EDS' ? endpointsFromXds(assignment) : undefined);
}

/** The model cluster; `edsEndpoints` are the EDS resource's endpoints, already translated (see assignment-reader.ts), for EDS clusters. */
export function clusterFromXdsEndpoints(c: ClusterProto, edsEndpoints: readonly Endpoint[] | undefined): ClusterConfig {
  const name = c.name as string;
  const { host, port, subset } = parseClusterName(name);
  const lbPolicy: LbPolicy = c.type === 'ORIGINAL_DST' ? 'PASSTHROUGH' : (LB_POLICIES[c.lb_policy ?? 'ROUND_ROBIN'] ?? 'ROUND_ROBIN');
  const policies = policiesFromXds(c);
  const tls = clusterTlsFromXds(c);
  const idleTimeoutMs = idleTimeoutFromXds(c);
  return Object.freeze({
    name,
    host,
    port,
    subset,
    endpoints: c.type === 'EDS' ? (edsEndpoints ?? NO_ENDPOINTS) : endpointsFromXds(c.load_assignment),
    lbPolicy,
    connectTimeoutMs: c.connect_timeout === undefined || c.connect_timeout === null ? DEFAULT_CONNECT_TIMEOUT_MS : durationMs(c.connect_timeout),
    ...(policies.lb === undefined ? {} : { lb: policies.lb }),
    ...(policies.thresholds === undefined ? {} : { thresholds: policies.thresholds }),
    ...(policies.outlierDetection === undefined ? {} : { outlierDetection: policies.outlierDetection }),
    ...(tls === undefined ? {} : { tls }),
    ...(idleTimeoutMs === undefined ? {} : { idleTimeoutMs }),
  });
}

const NO_ENDPOINTS: readonly Endpoint[] = Object.freeze([]);

export function endpointsFromXds(cla: ClusterLoadAssignmentProto | undefined): readonly Endpoint[] {
  const out: Endpoint[] = [];
  const labelSets = new LabelSets();
  for (const group of cla?.endpoints ?? []) {
    const locality = localityOf(group.locality);
    for (const e of group.lb_endpoints ?? []) {
      const endpoint = endpointFromXds(e, locality, labelSets);
      if (endpoint !== undefined) out.push(endpoint);
    }
  }
  return Object.freeze(out);
}

/**
 * The model endpoint of one LbEndpoint (checked: checkLbEndpoint), or
 * undefined when it has no socket address. `labelSets`: the label sets of the
 * assignment's other endpoints, so endpoints with equal labels share one
 * frozen object (a 1,000-endpoint assignment has a handful of sets, not 1,000).
 */
export function endpointFromXds(e: LbEndpointProto, locality: Locality | undefined, labelSets: LabelSets): Endpoint | undefined {
  const sa = e.endpoint?.address?.socket_address;
  if (sa?.address === undefined || sa.port_value === undefined) return undefined;
  const address = sa.address;
  const port = sa.port_value;
  const labels = labelsOf(e.metadata?.filter_metadata?.[LABELS_NAMESPACE], labelSets);
  // protobuf's absent/0 weight means 1.
  const weight = e.load_balancing_weight?.value || 1;
  const healthy = !UNHEALTHY.has(e.health_status ?? 'UNKNOWN');
  // Whole literals, not a property added after: an added property lives in a second object (V8's property
  // array), one more long-lived object per endpoint for every young collection of a big sync to copy.
  return Object.freeze(locality === undefined ? { address, port, labels, weight, healthy } : { address, port, labels, weight, healthy, locality });
}

/** `outbound|9090|v1|calc.svc` → its parts; another shape is kept whole as the host. */
export function parseClusterName(name: string): { host: string; port: number; subset: string } {
  const parts = name.split('|');
  if (parts.length === 4) {
    const [, port = '', subset = '', host = ''] = parts;
    if (/^\d+$/.test(port)) return { host, port: Number(port), subset };
  }
  return { host: name, port: 0, subset: '' };
}

export function localityOf(l: { region?: string; zone?: string; sub_zone?: string } | undefined): Locality | undefined {
  if (l === undefined || (!l.region && !l.zone && !l.sub_zone)) return undefined;
  const out: { region?: string; zone?: string; subZone?: string } = {};
  if (l.region) out.region = l.region;
  if (l.zone) out.zone = l.zone;
  if (l.sub_zone) out.subZone = l.sub_zone;
  return Object.freeze(out);
}

const NO_LABELS: Readonly<Record<string, string>> = Object.freeze({});

/** The endpoint's labels: the string, number and bool values of the envoy.lb metadata, as the set `labelSets` holds for them. */
function labelsOf(s: StructProto | undefined, labelSets: LabelSets): Readonly<Record<string, string>> {
  if (s?.fields === undefined) return NO_LABELS;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(s.fields)) {
    if (v.stringValue !== undefined) out[k] = v.stringValue;
    else if (v.numberValue !== undefined) out[k] = String(v.numberValue);
    else if (v.boolValue !== undefined) out[k] = String(v.boolValue);
  }
  // `out` dies young; the set kept is shared.
  return labelSets.of(out);
}

function invalid(name: string, message: string): MeshError {
  return new MeshError(MeshErrorCode.CONFIG, name === '' ? `cluster ${message}` : `cluster '${name}' ${message}`);
}
