// An Envoy Cluster (CDS) and its ClusterLoadAssignment (EDS, or the
// cluster's inline load_assignment) → the model Cluster. Host, port and
// subset come from Istio's cluster name `outbound|<port>|<subset>|<host>`.
import type { Cluster, Endpoint, LbPolicy, Locality } from '../config/model';
import { MeshError, MeshErrorCode } from '../protocol';
import { policiesFromXds } from './cluster-policies-xds';
import { durationMs } from './duration-ms';
import type { ClusterLoadAssignmentProto, ClusterProto, HealthStatusName, StructProto } from './envoy-types';

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

/** Checks a CDS resource before it is accepted; throws MeshError CONFIG with the reason. */
export function checkClusterFromXds(c: ClusterProto): void {
  if (c.name === undefined || c.name === '') throw invalid('', 'has no name');
  if (c.lb_policy === 'LOAD_BALANCING_POLICY_CONFIG') {
    throw invalid(c.name, 'uses lb_policy LOAD_BALANCING_POLICY_CONFIG, which meta-mesh does not read; use ROUND_ROBIN, LEAST_REQUEST, RANDOM, RING_HASH or MAGLEV');
  }
  if (c.load_assignment !== undefined) checkAssignment(c.load_assignment, c.name);
}

/** Checks an EDS resource before it is accepted. */
export function checkAssignment(cla: ClusterLoadAssignmentProto, where = cla.cluster_name ?? ''): void {
  (cla.endpoints ?? []).forEach((group, g) => {
    (group.lb_endpoints ?? []).forEach((e, i) => {
      const sa = e.endpoint?.address?.socket_address;
      if (sa?.address === undefined || sa.address === '') {
        throw invalid(where, `endpoints[${g}].lb_endpoints[${i}] has no socket address; meta-mesh connects over TCP to address:port_value`);
      }
      if (sa.port_value === undefined || sa.port_value === 0 || sa.port_value > 65535) {
        throw invalid(where, `endpoints[${g}].lb_endpoints[${i}] (${sa.address}) has port ${sa.port_value ?? 'unset'}; set port_value to a TCP port`);
      }
    });
  });
}

/** Whether the cluster's endpoints come from EDS, and under which name. */
export function edsServiceName(c: ClusterProto): string | undefined {
  if (c.type !== 'EDS') return undefined;
  const name = c.eds_cluster_config?.service_name;
  return name === undefined || name === '' ? c.name : name;
}

/** The model cluster; `assignment` is the EDS resource for EDS clusters (else the inline one is used). */
export function clusterFromXds(c: ClusterProto, assignment: ClusterLoadAssignmentProto | undefined): Cluster {
  const name = c.name as string;
  const { host, port, subset } = parseClusterName(name);
  const cla = c.type === 'EDS' ? assignment : c.load_assignment;
  const lbPolicy: LbPolicy = c.type === 'ORIGINAL_DST' ? 'PASSTHROUGH' : (LB_POLICIES[c.lb_policy ?? 'ROUND_ROBIN'] ?? 'ROUND_ROBIN');
  const policies = policiesFromXds(c);
  return Object.freeze({
    name,
    host,
    port,
    subset,
    endpoints: endpointsFromXds(cla),
    lbPolicy,
    connectTimeoutMs: c.connect_timeout === undefined || c.connect_timeout === null ? DEFAULT_CONNECT_TIMEOUT_MS : durationMs(c.connect_timeout),
    ...(policies.lb === undefined ? {} : { lb: policies.lb }),
    ...(policies.thresholds === undefined ? {} : { thresholds: policies.thresholds }),
    ...(policies.outlierDetection === undefined ? {} : { outlierDetection: policies.outlierDetection }),
  });
}

export function endpointsFromXds(cla: ClusterLoadAssignmentProto | undefined): readonly Endpoint[] {
  const out: Endpoint[] = [];
  for (const group of cla?.endpoints ?? []) {
    const locality = localityOf(group.locality);
    for (const e of group.lb_endpoints ?? []) {
      const sa = e.endpoint?.address?.socket_address;
      if (sa?.address === undefined || sa.port_value === undefined) continue;
      const endpoint: { -readonly [K in keyof Endpoint]: Endpoint[K] } = {
        address: sa.address,
        port: sa.port_value,
        labels: labelsOf(e.metadata?.filter_metadata?.[LABELS_NAMESPACE]),
        // protobuf's absent/0 weight means 1.
        weight: e.load_balancing_weight?.value || 1,
        healthy: !UNHEALTHY.has(e.health_status ?? 'UNKNOWN'),
      };
      if (locality !== undefined) endpoint.locality = locality;
      out.push(Object.freeze(endpoint));
    }
  }
  return Object.freeze(out);
}

/** `outbound|9090|v1|calc.svc` → its parts; another shape is kept whole as the host. */
export function parseClusterName(name: string): { host: string; port: number; subset: string } {
  const parts = name.split('|');
  if (parts.length === 4 && /^\d+$/.test(parts[1])) return { host: parts[3], port: Number(parts[1]), subset: parts[2] };
  return { host: name, port: 0, subset: '' };
}

function localityOf(l: { region?: string; zone?: string; sub_zone?: string } | undefined): Locality | undefined {
  if (l === undefined || (!l.region && !l.zone && !l.sub_zone)) return undefined;
  const out: { region?: string; zone?: string; subZone?: string } = {};
  if (l.region) out.region = l.region;
  if (l.zone) out.zone = l.zone;
  if (l.sub_zone) out.subZone = l.sub_zone;
  return Object.freeze(out);
}

const NO_LABELS: Readonly<Record<string, string>> = Object.freeze({});

function labelsOf(s: StructProto | undefined): Readonly<Record<string, string>> {
  if (s?.fields === undefined) return NO_LABELS;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(s.fields)) {
    if (v.stringValue !== undefined) out[k] = v.stringValue;
    else if (v.numberValue !== undefined) out[k] = String(v.numberValue);
    else if (v.boolValue !== undefined) out[k] = String(v.boolValue);
  }
  return Object.freeze(out);
}

function invalid(name: string, message: string): MeshError {
  return new MeshError(MeshErrorCode.CONFIG, name === '' ? `cluster ${message}` : `cluster '${name}' ${message}`);
}
