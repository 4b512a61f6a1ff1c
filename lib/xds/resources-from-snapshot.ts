// A model Snapshot → the Envoy resources a control plane serves for it:
// one RouteConfiguration per route config, shaped as Aeraki writes MetaRDS
// (virtual host "dummy", domains ["*"], prefix "/" filler), and one EDS
// Cluster plus ClusterLoadAssignment per cluster, shaped as istiod writes them.
import type { ClusterConfig, MetadataMatcher, Route, Snapshot } from '../config/model';
import { durationOf } from './duration-ms';
import { policiesToXds } from './cluster-policies-xds';
import { idleTimeoutToXds } from './cluster-protocol-options-xds';
import type { ClusterLoadAssignmentProto, ClusterProto, HeaderMatcherProto, LocalityLbEndpointsProto, RouteConfigurationProto, RouteProto } from './envoy-types';

export interface XdsResources {
  readonly routeConfigurations: RouteConfigurationProto[];
  readonly clusters: ClusterProto[];
  readonly assignments: ClusterLoadAssignmentProto[];
}

export function resourcesFromSnapshot(snapshot: Snapshot): XdsResources {
  const routeConfigurations: RouteConfigurationProto[] = [];
  for (const rc of snapshot.routeConfigs.values()) {
    routeConfigurations.push({ name: rc.name, virtual_hosts: [{ name: 'dummy', domains: ['*'], routes: rc.routes.map(routeToXds) }] });
  }
  const clusters: ClusterProto[] = [];
  const assignments: ClusterLoadAssignmentProto[] = [];
  for (const c of snapshot.clusters.values()) {
    clusters.push(clusterToXds(c));
    assignments.push(assignmentToXds(c));
  }
  return { routeConfigurations, clusters, assignments };
}

export function routeToXds(r: Route): RouteProto {
  const out: RouteProto = {
    name: r.name,
    match: { prefix: '/', headers: r.match.map(matcherToXds) },
    route: {
      ...(r.clusters.length === 1 && r.clusters[0] !== undefined
        ? { cluster: r.clusters[0].cluster }
        : { weighted_clusters: { clusters: r.clusters.map((c) => ({ name: c.cluster, weight: { value: c.weight } })) } }),
      hash_policy: r.hashPolicy.map((k) => ({ header: { header_name: k } })),
      request_mirror_policies: r.mirrors.map((m) => ({
        cluster: m.cluster,
        runtime_fraction: { default_value: { numerator: Math.round(m.fraction * 1_000_000), denominator: 'MILLION' } },
      })),
    },
    request_headers_to_add: r.requestMutation.map(([key, value]) => ({ header: { key, value } })),
    response_headers_to_add: r.responseMutation.map(([key, value]) => ({ header: { key, value } })),
  };
  // meta-mesh extensions carried in the Envoy fields of the same meaning.
  if (r.timeoutMs !== undefined) out.route!.timeout = durationOf(r.timeoutMs);
  if (r.retries !== undefined) {
    out.route!.retry_policy = {
      retry_on: r.retries.retryOn.join(','),
      num_retries: { value: r.retries.attempts },
      ...(r.retries.perTryTimeoutMs > 0 ? { per_try_timeout: durationOf(r.retries.perTryTimeoutMs) } : {}),
    };
  }
  return out;
}

export function matcherToXds(m: MetadataMatcher): HeaderMatcherProto {
  const out: HeaderMatcherProto = { name: m.name };
  if (m.invert === true) out.invert_match = true;
  if (m.treatMissingAsEmpty === true) out.treat_missing_header_as_empty = true;
  if (m.ignoreCase === true && m.kind !== 'regex' && m.kind !== 'present' && m.kind !== 'range') {
    out.string_match = { [m.kind]: m.value ?? '', ignore_case: true };
    return out;
  }
  switch (m.kind) {
    case 'exact':
      out.exact_match = m.value ?? '';
      break;
    case 'prefix':
      out.prefix_match = m.value ?? '';
      break;
    case 'suffix':
      out.suffix_match = m.value ?? '';
      break;
    case 'contains':
      out.contains_match = m.value ?? '';
      break;
    case 'regex':
      out.safe_regex_match = { google_re2: {}, regex: m.value ?? '' };
      break;
    case 'present':
      out.present_match = m.present !== false;
      break;
    case 'range':
      out.range_match = { start: String(m.rangeStart ?? 0), end: String(m.rangeEnd ?? 0) };
      break;
  }
  return out;
}

export function clusterToXds(c: ClusterConfig): ClusterProto {
  const out: ClusterProto = {
    name: c.name,
    type: c.lbPolicy === 'PASSTHROUGH' ? 'ORIGINAL_DST' : 'EDS',
    connect_timeout: durationOf(c.connectTimeoutMs),
    lb_policy: c.lbPolicy === 'PASSTHROUGH' ? 'CLUSTER_PROVIDED' : c.lbPolicy,
  };
  if (out.type === 'EDS') out.eds_cluster_config = { eds_config: { ads: {}, resource_api_version: 'V3' }, service_name: c.name };
  if (c.lbPolicy === 'RING_HASH') out.ring_hash_lb_config = {};
  if (c.lbPolicy === 'MAGLEV') out.maglev_lb_config = {};
  policiesToXds(c, out);
  if (c.idleTimeoutMs !== undefined) idleTimeoutToXds(c.idleTimeoutMs, out);
  return out;
}

export function assignmentToXds(c: ClusterConfig): ClusterLoadAssignmentProto {
  const groups = new Map<string, LocalityLbEndpointsProto>();
  for (const e of c.endpoints) {
    const l = e.locality;
    const key = `${l?.region ?? ''}/${l?.zone ?? ''}/${l?.subZone ?? ''}`;
    let group = groups.get(key);
    if (group === undefined) {
      group = { lb_endpoints: [] };
      if (l !== undefined) group.locality = { region: l.region ?? '', zone: l.zone ?? '', sub_zone: l.subZone ?? '' };
      groups.set(key, group);
    }
    const labels = Object.entries(e.labels);
    group.lb_endpoints!.push({
      endpoint: { address: { socket_address: { address: e.address, port_value: e.port } } },
      health_status: e.healthy === false ? 'UNHEALTHY' : 'HEALTHY',
      load_balancing_weight: { value: e.weight },
      ...(labels.length === 0
        ? {}
        : { metadata: { filter_metadata: { 'envoy.lb': { fields: Object.fromEntries(labels.map(([k, v]) => [k, { stringValue: v }])) } } } }),
    });
  }
  return { cluster_name: c.name, endpoints: [...groups.values()] };
}
