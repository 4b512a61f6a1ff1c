// Envoy resources that use every field meta-mesh's proto subset declares, in
// the decoded proto shape; shared by the wire-compatibility tests.
import type { ClusterLoadAssignmentProto, ClusterProto, DiscoveryRequestProto, RouteConfigurationProto } from '../../lib/xds/envoy-types';

export const HOST = 'calc.demo.svc.cluster.local';
export const V1 = `outbound|9090|v1|${HOST}`;
export const V2 = `outbound|9090|v2|${HOST}`;

export function sampleRouteConfiguration(): RouteConfigurationProto {
  return {
    name: `${HOST}_9090`,
    virtual_hosts: [
      {
        name: 'dummy',
        domains: ['*'],
        routes: [
          {
            name: 'every-matcher',
            match: {
              prefix: '/',
              headers: [
                { name: 'method', exact_match: 'add' },
                { name: 'service', prefix_match: 'Calc', invert_match: true },
                { name: 'a', suffix_match: 'x', treat_missing_header_as_empty: true },
                { name: 'b', contains_match: 'mid' },
                { name: 'c', safe_regex_match: { google_re2: {}, regex: 'v[0-9]+' } },
                { name: 'd', range_match: { start: '1', end: '100' } },
                { name: 'e', present_match: true },
                { name: 'f', string_match: { exact: 'Yes', ignore_case: true } },
                { name: 'g', string_match: { prefix: 'p' } },
                { name: 'h', string_match: { suffix: 's' } },
                { name: 'i', string_match: { contains: 'c' } },
                { name: 'j', string_match: { safe_regex: { google_re2: {}, regex: '.*' } } },
              ],
            },
            route: {
              weighted_clusters: { clusters: [{ name: V1, weight: { value: 80 } }, { name: V2, weight: { value: 20 } }], total_weight: { value: 100 } },
              timeout: { seconds: '1', nanos: 500_000_000 },
              retry_policy: { retry_on: 'connect-failure,reset', num_retries: { value: 2 }, per_try_timeout: { seconds: '0', nanos: 250_000_000 } },
              hash_policy: [{ header: { header_name: 'User-Id' }, terminal: true }],
              request_mirror_policies: [{ cluster: V2, runtime_fraction: { default_value: { numerator: 10, denominator: 'TEN_THOUSAND' }, runtime_key: 'k' } }],
            },
            request_headers_to_add: [{ header: { key: 'foo', value: 'bar' }, append: { value: false } }],
            response_headers_to_add: [{ header: { key: 'foo1', value: 'bar1' } }],
          },
          { name: 'default', match: { prefix: '/' }, route: { cluster: V1 } },
        ],
      },
    ],
  };
}

export function sampleCluster(): ClusterProto {
  return {
    name: V1,
    type: 'EDS',
    eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' }, service_name: V1 },
    connect_timeout: { seconds: '2', nanos: 0 },
    lb_policy: 'RING_HASH',
    circuit_breakers: {
      thresholds: [{ priority: 'HIGH', max_connections: { value: 10 }, max_pending_requests: { value: 20 }, max_requests: { value: 30 }, max_retries: { value: 3 } }],
    },
    outlier_detection: {
      consecutive_5xx: { value: 5 },
      interval: { seconds: '10', nanos: 0 },
      base_ejection_time: { seconds: '30', nanos: 0 },
      max_ejection_percent: { value: 50 },
      enforcing_consecutive_5xx: { value: 100 },
      consecutive_gateway_failure: { value: 4 },
      split_external_local_origin_errors: true,
      consecutive_local_origin_failure: { value: 6 },
    },
    ring_hash_lb_config: { minimum_ring_size: { value: '1024' }, maximum_ring_size: { value: '8388608' } },
    common_lb_config: { healthy_panic_threshold: { value: 40 } },
    load_assignment: sampleAssignment(),
  };
}

export function sampleAssignment(): ClusterLoadAssignmentProto {
  return {
    cluster_name: V1,
    endpoints: [
      {
        locality: { region: 'us-east1', zone: 'us-east1-b', sub_zone: 'rack7' },
        lb_endpoints: [
          {
            endpoint: { address: { socket_address: { address: '10.0.0.1', port_value: 9090 } }, hostname: 'pod-1' },
            health_status: 'HEALTHY',
            metadata: { filter_metadata: { 'envoy.lb': { fields: { version: { stringValue: 'v1' } } } } },
            load_balancing_weight: { value: 3 },
          },
          { endpoint: { address: { socket_address: { address: '10.0.0.2', port_value: 9091 } } }, health_status: 'DRAINING' },
        ],
        load_balancing_weight: { value: 7 },
        priority: 1,
      },
    ],
  };
}

export function sampleRequest(): DiscoveryRequestProto {
  return {
    version_info: '1700000000',
    node: {
      id: 'sidecar~10.0.0.9~app-1.demo~demo.svc.cluster.local',
      cluster: 'app.demo',
      metadata: { fields: { ISTIO_VERSION: { stringValue: '1.20.0' }, GENERATOR: { stringValue: 'grpc' } } },
      locality: { region: 'r', zone: 'z', sub_zone: 's' },
      user_agent_name: 'meta-mesh',
      user_agent_version: '0.1.0',
      client_features: ['envoy.lb.does_not_support_overprovisioning'],
    },
    resource_names: [`${HOST}_9090`],
    type_url: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
    response_nonce: '7',
    error_detail: { code: 3, message: 'route x refused' },
  };
}

const ONEOF_MARKERS = new Set([
  'path_specifier', 'header_match_specifier', 'match_pattern', 'cluster_specifier', 'action', 'engine_type', 'policy_specifier',
  'port_specifier', 'address', 'host_identifier', 'cluster_discovery_type', 'lb_config', 'config_source_specifier',
  'user_agent_version_type', 'kind',
]);

/** A decoded message without proto-loader's oneof marker strings, for comparison with what was encoded. */
export function withoutOneofMarkers(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutOneofMarkers);
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (ONEOF_MARKERS.has(k) && typeof v === 'string' && Object.hasOwn(value, v)) continue;
    out[k] = withoutOneofMarkers(v);
  }
  return out;
}
