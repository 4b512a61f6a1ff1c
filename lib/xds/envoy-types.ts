// The decoded shape of the xDS messages meta-mesh reads, as proto-loader
// returns them with PROTO_LOADER_OPTIONS: field names as in the .proto,
// absent fields undefined, 64-bit integers as strings, enums by name, and a
// string property per oneof naming the member that is set.

export interface AnyResource {
  type_url: string;
  value: Buffer | Uint8Array;
}

export interface UInt32ValueProto {
  value?: number;
}

export interface DurationProto {
  seconds?: string | number;
  nanos?: number;
}

/** google.protobuf.Struct as decoded; protobufjs defines its well-known types with camelCase field names. */
export interface StructProto {
  fields?: Record<string, ValueProto>;
}

export interface ValueProto {
  kind?: string;
  nullValue?: string;
  numberValue?: number;
  stringValue?: string;
  boolValue?: boolean;
  structValue?: StructProto;
  listValue?: { values?: ValueProto[] };
}

export interface StatusProto {
  code?: number;
  message?: string;
}

export interface LocalityProto {
  region?: string;
  zone?: string;
  sub_zone?: string;
}

export interface NodeProto {
  id?: string;
  cluster?: string;
  metadata?: StructProto;
  locality?: LocalityProto;
  user_agent_name?: string;
  user_agent_version?: string;
  client_features?: string[];
}

export interface DiscoveryRequestProto {
  version_info?: string;
  node?: NodeProto;
  resource_names?: string[];
  type_url?: string;
  response_nonce?: string;
  error_detail?: StatusProto;
}

export interface DiscoveryResponseProto {
  version_info?: string;
  resources?: AnyResource[];
  type_url?: string;
  nonce?: string;
  control_plane?: { identifier?: string };
}

export interface DeltaDiscoveryRequestProto {
  node?: NodeProto;
  type_url?: string;
  resource_names_subscribe?: string[];
  resource_names_unsubscribe?: string[];
  initial_resource_versions?: Record<string, string>;
  response_nonce?: string;
  error_detail?: StatusProto;
}

/** One resource of a DeltaDiscoveryResponse: its name and version travel beside it. */
export interface DeltaResourceProto {
  version?: string;
  resource?: AnyResource;
  name?: string;
  aliases?: string[];
  ttl?: DurationProto;
}

export interface DeltaDiscoveryResponseProto {
  system_version_info?: string;
  resources?: DeltaResourceProto[];
  type_url?: string;
  nonce?: string;
  removed_resources?: string[];
  control_plane?: { identifier?: string };
}

export interface FractionalPercentProto {
  numerator?: number;
  denominator?: 'HUNDRED' | 'TEN_THOUSAND' | 'MILLION';
}

export interface RegexMatcherProto {
  google_re2?: object;
  regex?: string;
}

export interface StringMatcherProto {
  exact?: string;
  prefix?: string;
  suffix?: string;
  safe_regex?: RegexMatcherProto;
  contains?: string;
  ignore_case?: boolean;
  match_pattern?: 'exact' | 'prefix' | 'suffix' | 'safe_regex' | 'contains';
}

export interface HeaderMatcherProto {
  name?: string;
  exact_match?: string;
  safe_regex_match?: RegexMatcherProto;
  range_match?: { start?: string | number; end?: string | number };
  present_match?: boolean;
  prefix_match?: string;
  suffix_match?: string;
  contains_match?: string;
  string_match?: StringMatcherProto;
  invert_match?: boolean;
  treat_missing_header_as_empty?: boolean;
  header_match_specifier?: string;
}

export interface HeaderValueOptionProto {
  header?: { key?: string; value?: string };
  append?: { value?: boolean };
}

export interface RouteActionProto {
  cluster?: string;
  cluster_header?: string;
  weighted_clusters?: {
    clusters?: { name?: string; weight?: UInt32ValueProto }[];
    total_weight?: UInt32ValueProto;
  };
  cluster_specifier?: 'cluster' | 'cluster_header' | 'weighted_clusters';
  timeout?: DurationProto;
  retry_policy?: { retry_on?: string; num_retries?: UInt32ValueProto; per_try_timeout?: DurationProto };
  hash_policy?: { header?: { header_name?: string }; terminal?: boolean; policy_specifier?: string }[];
  request_mirror_policies?: { cluster?: string; runtime_fraction?: { default_value?: FractionalPercentProto; runtime_key?: string } }[];
}

export interface RouteProto {
  name?: string;
  match?: { prefix?: string; path?: string; headers?: HeaderMatcherProto[] };
  route?: RouteActionProto;
  redirect?: object;
  direct_response?: object;
  action?: 'route' | 'redirect' | 'direct_response';
  request_headers_to_add?: HeaderValueOptionProto[];
  response_headers_to_add?: HeaderValueOptionProto[];
}

export interface RouteConfigurationProto {
  name?: string;
  virtual_hosts?: { name?: string; domains?: string[]; routes?: RouteProto[] }[];
}

export type HealthStatusName = 'UNKNOWN' | 'HEALTHY' | 'UNHEALTHY' | 'DRAINING' | 'TIMEOUT' | 'DEGRADED';

export interface LbEndpointProto {
  endpoint?: {
    address?: { socket_address?: { address?: string; port_value?: number; named_port?: string; port_specifier?: string } };
    hostname?: string;
  };
  health_status?: HealthStatusName;
  metadata?: { filter_metadata?: Record<string, StructProto> };
  load_balancing_weight?: UInt32ValueProto;
}

export interface LocalityLbEndpointsProto {
  locality?: LocalityProto;
  lb_endpoints?: LbEndpointProto[];
  load_balancing_weight?: UInt32ValueProto;
  priority?: number;
}

export interface ClusterLoadAssignmentProto {
  cluster_name?: string;
  endpoints?: LocalityLbEndpointsProto[];
}

export interface ThresholdsProto {
  priority?: 'DEFAULT' | 'HIGH';
  max_connections?: UInt32ValueProto;
  max_pending_requests?: UInt32ValueProto;
  max_requests?: UInt32ValueProto;
  max_retries?: UInt32ValueProto;
}

export interface OutlierDetectionProto {
  consecutive_5xx?: UInt32ValueProto;
  interval?: DurationProto;
  base_ejection_time?: DurationProto;
  max_ejection_percent?: UInt32ValueProto;
  enforcing_consecutive_5xx?: UInt32ValueProto;
  consecutive_gateway_failure?: UInt32ValueProto;
  split_external_local_origin_errors?: boolean;
  consecutive_local_origin_failure?: UInt32ValueProto;
}

export interface ClusterProto {
  name?: string;
  type?: 'STATIC' | 'STRICT_DNS' | 'LOGICAL_DNS' | 'EDS' | 'ORIGINAL_DST';
  eds_cluster_config?: { eds_config?: { ads?: object; resource_api_version?: string }; service_name?: string };
  connect_timeout?: DurationProto;
  lb_policy?: 'ROUND_ROBIN' | 'LEAST_REQUEST' | 'RING_HASH' | 'RANDOM' | 'MAGLEV' | 'CLUSTER_PROVIDED' | 'LOAD_BALANCING_POLICY_CONFIG';
  circuit_breakers?: { thresholds?: ThresholdsProto[] };
  outlier_detection?: OutlierDetectionProto;
  ring_hash_lb_config?: { minimum_ring_size?: { value?: string | number }; maximum_ring_size?: { value?: string | number } };
  maglev_lb_config?: { table_size?: { value?: string | number } };
  common_lb_config?: { healthy_panic_threshold?: { value?: number } };
  load_assignment?: ClusterLoadAssignmentProto;
  transport_socket?: { name?: string; typed_config?: { type_url?: string; value?: Uint8Array } } | null;
  transport_socket_matches?: { name?: string }[];
  common_http_protocol_options?: CoreHttpProtocolOptionsProto | null;
  typed_extension_protocol_options?: Record<string, { type_url?: string; value?: Uint8Array }> | null;
}

/** envoy.config.core.v3.HttpProtocolOptions (the fields meta-mesh reads). */
export interface CoreHttpProtocolOptionsProto {
  idle_timeout?: DurationProto | null;
  max_connection_duration?: DurationProto | null;
}

/** envoy.extensions.upstreams.http.v3.HttpProtocolOptions */
export interface HttpProtocolOptionsProto {
  common_http_protocol_options?: CoreHttpProtocolOptionsProto | null;
}

/** envoy.extensions.upstreams.tcp.v3.TcpProtocolOptions */
export interface TcpProtocolOptionsProto {
  idle_timeout?: DurationProto | null;
}

interface ProviderInstanceProto {
  instance_name?: string;
  certificate_name?: string;
}

export interface CertificateValidationContextProto {
  trusted_ca?: object | null;
  ca_certificate_provider_instance?: ProviderInstanceProto | null;
  match_subject_alt_names?: StringMatcherProto[];
  match_typed_subject_alt_names?: { san_type?: string; matcher?: StringMatcherProto }[];
}

/** envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext, the fields meta-mesh reads. */
export interface UpstreamTlsContextProto {
  sni?: string;
  common_tls_context?: {
    tls_certificates?: object[];
    tls_certificate_sds_secret_configs?: object[];
    tls_certificate_provider_instance?: ProviderInstanceProto | null;
    tls_certificate_certificate_provider_instance?: ProviderInstanceProto | null;
    alpn_protocols?: string[];
    validation_context?: CertificateValidationContextProto | null;
    validation_context_sds_secret_config?: object | null;
    combined_validation_context?: {
      default_validation_context?: CertificateValidationContextProto | null;
      validation_context_certificate_provider_instance?: ProviderInstanceProto | null;
    } | null;
    validation_context_certificate_provider_instance?: ProviderInstanceProto | null;
  };
}
