// ClusterStatus: what the admin endpoint's /clusters reports for each cluster
// of the config in force: its endpoints with health, outlier ejection, calls
// in flight and connection state, and its thresholds in use. Built on
// demand from the live objects; nothing is kept or counted for it.
import type { MeshState } from '../mesh-state';
import type { UpstreamHost } from '../upstream/upstream-host';

export interface HostStatus {
  readonly address: string;
  readonly port: number;
  readonly weight: number;
  readonly labels: Readonly<Record<string, string>>;
  readonly locality: { readonly region?: string; readonly zone?: string; readonly subZone?: string };
  /** False when the config (EDS health, WorkloadEntry) marks the endpoint unhealthy. */
  readonly healthy: boolean;
  readonly outlierEjected: boolean;
  /** Calls sent to it and not yet answered, across protocols. */
  readonly activeRequests: number;
  /** Connections open or opening, across protocols. */
  readonly connections: number;
  /** 'connected' (a connection is open or opening), 'idle' (none), 'draining' (left the config, finishing calls). */
  readonly connection: 'connected' | 'idle' | 'draining';
}

export interface ClusterStatus {
  readonly name: string;
  readonly hosts: readonly HostStatus[];
  readonly thresholds: {
    readonly maxConnections: number;
    readonly maxPendingRequests: number;
    readonly maxRequests: number;
    readonly maxRetries: number;
  };
  readonly activeRequests: number;
  readonly pendingRequests: number;
  readonly activeRetries: number;
  readonly activeConnections: number;
  readonly overflows: Readonly<Record<string, number>>;
  readonly outlier: { readonly ejectionsActive: number; readonly ejectionsEnforced: number; readonly ejectionsOverflow: number } | undefined;
  readonly circuitBreaker: string | undefined;
}

export function clusterStatuses(state: MeshState, hosts: Iterable<UpstreamHost>): ClusterStatus[] {
  const byEndpoint = new Map<string, UpstreamHost[]>();
  for (const h of hosts) {
    const list = byEndpoint.get(h.endpoint);
    if (list === undefined) byEndpoint.set(h.endpoint, [h]);
    else list.push(h);
  }
  const out: ClusterStatus[] = [];
  for (const cluster of state.clusters.values()) {
    const r = cluster.resilience;
    const detector = r.detector;
    const stats = r.thresholds.stats;
    const limits = r.thresholds.limits;
    out.push({
      name: cluster.name,
      hosts: cluster.config.endpoints.map((e, i) => {
        const live = byEndpoint.get(`${e.address}:${e.port}`) ?? [];
        let active = 0;
        let connections = 0;
        let retired = live.length > 0;
        for (const h of live) {
          active += h.active;
          connections += h.connectionCount;
          retired &&= h.isRetired;
        }
        return {
          address: e.address,
          port: e.port,
          weight: e.weight,
          labels: e.labels,
          locality: { ...e.locality },
          healthy: e.healthy !== false,
          outlierEjected: detector?.isEjected(i) ?? false,
          activeRequests: active,
          connections,
          connection: retired ? 'draining' : connections > 0 ? 'connected' : 'idle',
        };
      }),
      thresholds: { maxConnections: limits.maxConnections, maxPendingRequests: limits.maxPendingRequests, maxRequests: limits.maxRequests, maxRetries: limits.maxRetries },
      activeRequests: stats.activeRequests,
      pendingRequests: stats.pendingRequests,
      activeRetries: stats.activeRetries,
      activeConnections: stats.activeConnections,
      overflows: { ...stats.overflows },
      outlier: detector === undefined ? undefined : { ejectionsActive: detector.ejectedCount, ...detector.stats },
      circuitBreaker: r.breaker?.state,
    });
  }
  return out;
}

/** Envoy's /clusters text: `cluster::host:port::stat::value` lines, plus the thresholds per cluster. */
export function clustersText(statuses: readonly ClusterStatus[]): string {
  const lines: string[] = [];
  for (const c of statuses) {
    const t = c.thresholds;
    lines.push(
      `${c.name}::default_priority::max_connections::${t.maxConnections}`,
      `${c.name}::default_priority::max_pending_requests::${t.maxPendingRequests}`,
      `${c.name}::default_priority::max_requests::${t.maxRequests}`,
      `${c.name}::default_priority::max_retries::${t.maxRetries}`,
    );
    if (c.circuitBreaker !== undefined) lines.push(`${c.name}::circuit_breaker::${c.circuitBreaker}`);
    for (const h of c.hosts) {
      const at = `${c.name}::${h.address}:${h.port}`;
      const flags = [h.healthy ? '' : '/failed_eds_health', h.outlierEjected ? '/failed_outlier_check' : ''].join('');
      lines.push(
        `${at}::cx_active::${h.connections}`,
        `${at}::cx_state::${h.connection}`,
        `${at}::rq_active::${h.activeRequests}`,
        `${at}::health_flags::${flags === '' ? 'healthy' : flags}`,
        `${at}::weight::${h.weight}`,
        `${at}::region::${h.locality.region ?? ''}`,
        `${at}::zone::${h.locality.zone ?? ''}`,
        `${at}::sub_zone::${h.locality.subZone ?? ''}`,
      );
    }
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

/** /clusters?format=json: Envoy's cluster_statuses shape, with meta-mesh's extra facts beside. */
export function clustersJson(statuses: readonly ClusterStatus[]): unknown {
  return {
    cluster_statuses: statuses.map((c) => ({
      name: c.name,
      circuit_breakers: {
        thresholds: [
          {
            priority: 'DEFAULT',
            max_connections: c.thresholds.maxConnections,
            max_pending_requests: c.thresholds.maxPendingRequests,
            max_requests: c.thresholds.maxRequests,
            max_retries: c.thresholds.maxRetries,
          },
        ],
      },
      host_statuses: c.hosts.map((h) => ({
        address: { socket_address: { address: h.address, port_value: h.port } },
        stats: [
          { name: 'cx_active', value: String(h.connections), type: 'GAUGE' },
          { name: 'rq_active', value: String(h.activeRequests), type: 'GAUGE' },
        ],
        health_status: { eds_health_status: h.healthy ? 'HEALTHY' : 'UNHEALTHY', ...(h.outlierEjected ? { failed_outlier_check: true } : {}) },
        weight: h.weight,
        locality: { region: h.locality.region ?? '', zone: h.locality.zone ?? '', sub_zone: h.locality.subZone ?? '' },
        meta_mesh: { connection: h.connection, labels: h.labels },
      })),
      meta_mesh: {
        active_requests: c.activeRequests,
        pending_requests: c.pendingRequests,
        active_retries: c.activeRetries,
        active_connections: c.activeConnections,
        overflows: c.overflows,
        outlier_detection: c.outlier ?? null,
        circuit_breaker: c.circuitBreaker ?? null,
      },
    })),
  };
}
