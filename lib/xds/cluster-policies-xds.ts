// Circuit-breaker thresholds, outlier detection and balancer sizes: the parts
// of an Envoy Cluster that istiod fills from a DestinationRule's
// trafficPolicy, translated to the model and back (for the local control plane).
import type { ConnectionThresholds, LbOptions, OutlierDetectionConfig } from '../config/model';
import { durationMs, durationOf } from './duration-ms';
import type { ClusterProto, ThresholdsProto } from './envoy-types';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** proto-loader fills absent messages with null; both mean "not set". */
const u32 = (v: { value?: number | string } | null | undefined): number | undefined =>
  v === null || v === undefined || v.value === undefined || v.value === null ? undefined : Number(v.value);

/** Sets an optional field only when the proto has a value (an absent field stays absent, never `undefined`). */
function put<T, K extends keyof T>(target: T, key: K, value: T[K] | undefined): void {
  if (value !== undefined) target[key] = value;
}

export interface ClusterPolicies {
  thresholds?: ConnectionThresholds;
  outlierDetection?: OutlierDetectionConfig;
  lb?: LbOptions;
}

export function policiesFromXds(c: ClusterProto): ClusterPolicies {
  const out: ClusterPolicies = {};
  const t = (c.circuit_breakers?.thresholds ?? []).find((x) => x !== null && (x.priority === undefined || x.priority === 'DEFAULT'));
  if (t !== undefined) {
    const th: Mutable<ConnectionThresholds> = {};
    put(th, 'maxConnections', u32(t.max_connections));
    put(th, 'maxPendingRequests', u32(t.max_pending_requests));
    put(th, 'maxRequests', u32(t.max_requests));
    put(th, 'maxRetries', u32(t.max_retries));
    if (Object.keys(th).length > 0) out.thresholds = Object.freeze(th);
  }
  const od = c.outlier_detection;
  if (od !== undefined && od !== null) {
    const o: Mutable<OutlierDetectionConfig> = {};
    // Envoy: enforcing_consecutive_5xx 0 turns that ejection off.
    o.consecutive5xxErrors = u32(od.enforcing_consecutive_5xx) === 0 ? 0 : (u32(od.consecutive_5xx) ?? 5);
    put(o, 'consecutiveGatewayErrors', u32(od.consecutive_gateway_failure));
    if (od.split_external_local_origin_errors === true) o.splitExternalLocalOriginErrors = true;
    put(o, 'consecutiveLocalOriginFailures', u32(od.consecutive_local_origin_failure));
    if (od.interval !== undefined && od.interval !== null) o.interval = durationMs(od.interval);
    if (od.base_ejection_time !== undefined && od.base_ejection_time !== null) o.baseEjectionTime = durationMs(od.base_ejection_time);
    put(o, 'maxEjectionPercent', u32(od.max_ejection_percent));
    out.outlierDetection = Object.freeze(o);
  }
  const lb: Mutable<LbOptions> = {};
  const minRing = u32(c.ring_hash_lb_config?.minimum_ring_size);
  const maxRing = u32(c.ring_hash_lb_config?.maximum_ring_size);
  if (minRing !== undefined || maxRing !== undefined) {
    lb.ringHash = { ...(minRing === undefined ? {} : { minimumRingSize: minRing }), ...(maxRing === undefined ? {} : { maximumRingSize: maxRing }) };
  }
  const table = u32(c.maglev_lb_config?.table_size);
  if (table !== undefined) lb.maglev = { tableSize: table };
  const panic = c.common_lb_config?.healthy_panic_threshold?.value;
  if (panic !== undefined && panic !== null) lb.healthyPanicThreshold = Number(panic);
  if (Object.keys(lb).length > 0) out.lb = Object.freeze(lb);
  return out;
}

/** The same policies as the Envoy Cluster fields istiod would write. */
export function policiesToXds(p: ClusterPolicies, out: ClusterProto): void {
  if (p.thresholds !== undefined) {
    const t: ThresholdsProto = { priority: 'DEFAULT' };
    if (p.thresholds.maxConnections !== undefined) t.max_connections = { value: p.thresholds.maxConnections };
    if (p.thresholds.maxPendingRequests !== undefined) t.max_pending_requests = { value: p.thresholds.maxPendingRequests };
    if (p.thresholds.maxRequests !== undefined) t.max_requests = { value: p.thresholds.maxRequests };
    if (p.thresholds.maxRetries !== undefined) t.max_retries = { value: p.thresholds.maxRetries };
    out.circuit_breakers = { thresholds: [t] };
  }
  const o = p.outlierDetection;
  if (o !== undefined) {
    out.outlier_detection = {
      consecutive_5xx: { value: o.consecutive5xxErrors ?? 5 },
      ...(o.consecutive5xxErrors === 0 ? { enforcing_consecutive_5xx: { value: 0 } } : {}),
      ...(o.consecutiveGatewayErrors === undefined ? {} : { consecutive_gateway_failure: { value: o.consecutiveGatewayErrors } }),
      ...(o.splitExternalLocalOriginErrors === true ? { split_external_local_origin_errors: true } : {}),
      ...(o.consecutiveLocalOriginFailures === undefined ? {} : { consecutive_local_origin_failure: { value: o.consecutiveLocalOriginFailures } }),
      ...(o.interval === undefined ? {} : { interval: durationOf(o.interval) }),
      ...(o.baseEjectionTime === undefined ? {} : { base_ejection_time: durationOf(o.baseEjectionTime) }),
      ...(o.maxEjectionPercent === undefined ? {} : { max_ejection_percent: { value: o.maxEjectionPercent } }),
    };
  }
  if (p.lb?.ringHash !== undefined) {
    out.ring_hash_lb_config = {
      ...(p.lb.ringHash.minimumRingSize === undefined ? {} : { minimum_ring_size: { value: p.lb.ringHash.minimumRingSize } }),
      ...(p.lb.ringHash.maximumRingSize === undefined ? {} : { maximum_ring_size: { value: p.lb.ringHash.maximumRingSize } }),
    };
  }
  if (p.lb?.maglev?.tableSize !== undefined) out.maglev_lb_config = { table_size: { value: p.lb.maglev.tableSize } };
  if (p.lb?.healthyPanicThreshold !== undefined) out.common_lb_config = { healthy_panic_threshold: { value: p.lb.healthyPanicThreshold } };
}
