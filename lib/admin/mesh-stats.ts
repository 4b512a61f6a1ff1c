// The admin endpoint's /stats: the mesh's own counters and gauges as Envoy
// prints them (`name: value`, sorted), from the engine's live objects and
// the always-on event counters. No OpenTelemetry SDK is needed to read them.
import type { XdsDump } from '../xds';
import type { ClusterStatus } from './cluster-status';

export interface StatsInput {
  readonly clusters: readonly ClusterStatus[];
  readonly counters: ReadonlyMap<string, number>;
  readonly mirror: Readonly<Record<string, number>>;
  readonly xds: XdsDump | undefined;
  readonly live: boolean;
}

export function meshStats(input: StatsInput): [name: string, value: number][] {
  const stats = new Map<string, number>(input.counters);
  stats.set('server.live', input.live ? 1 : 0);
  for (const c of input.clusters) {
    const at = `cluster.${c.name}`;
    stats.set(`${at}.membership_total`, c.hosts.length);
    stats.set(`${at}.membership_healthy`, c.hosts.filter((h) => h.healthy && !h.outlierEjected).length);
    stats.set(`${at}.upstream_rq_active`, c.activeRequests);
    stats.set(`${at}.upstream_rq_pending_active`, c.pendingRequests);
    stats.set(`${at}.upstream_cx_active`, c.hosts.reduce((n, h) => n + h.connections, 0));
    stats.set(`${at}.upstream_rq_retry_active`, c.activeRetries);
    stats.set(`${at}.upstream_cx_overflow`, c.overflows['connections'] ?? 0);
    stats.set(`${at}.upstream_rq_pending_overflow`, c.overflows['pending'] ?? 0);
    stats.set(`${at}.upstream_rq_overflow`, c.overflows['requests'] ?? 0);
    stats.set(`${at}.upstream_rq_retry_overflow`, c.overflows['retries'] ?? 0);
    if (c.outlier !== undefined) {
      stats.set(`${at}.outlier_detection.ejections_active`, c.outlier.ejectionsActive);
      stats.set(`${at}.outlier_detection.ejections_enforced_total`, c.outlier.ejectionsEnforced);
      stats.set(`${at}.outlier_detection.ejections_overflow`, c.outlier.ejectionsOverflow);
    }
    if (c.circuitBreaker !== undefined) stats.set(`${at}.circuit_breaker_open`, c.circuitBreaker === 'closed' ? 0 : 1);
  }
  for (const [k, v] of Object.entries(input.mirror)) if (typeof v === 'number') stats.set(`meta_mesh.mirror.${k}`, v);
  if (input.xds !== undefined) {
    for (const s of input.xds.servers) stats.set(`control_plane.${s.kind}.connected_state`, s.connected ? 1 : 0);
    const byStatus = new Map<string, number>();
    for (const r of input.xds.resources) {
      const key = `xds.${r.typeUrl.slice(r.typeUrl.lastIndexOf('.') + 1)}.${r.clientStatus.toLowerCase()}`;
      byStatus.set(key, (byStatus.get(key) ?? 0) + 1);
    }
    for (const [k, v] of byStatus) stats.set(k, v);
  }
  return [...stats.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

export function statsText(stats: readonly [string, number][]): string {
  return stats.map(([k, v]) => `${k}: ${v}\n`).join('');
}
