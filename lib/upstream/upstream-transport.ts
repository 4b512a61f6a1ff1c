// UpstreamTransport: how meta-mesh reaches a cluster's endpoints (connect
// deadline today; TLS settings join it), taken from the cluster's config in
// the snapshot in force, so a config change applies to the next connect.
import type { Cluster as ClusterConfig } from '../config/model';

/** How to reach an endpoint: the cluster's transport settings, read from the snapshot in force at each connect. */
export interface UpstreamTransport {
  /** Deadline for the socket to become usable (TCP connect, and any handshake), in ms. */
  readonly connectTimeoutMs: number;
  /** Close a pooled connection after it carried no call for this long, in ms (default one hour, as Envoy). */
  readonly idleTimeoutMs?: number;
}

/** The transport settings a cluster's config asks for. */
export function clusterTransport(config: ClusterConfig): UpstreamTransport {
  return config.idleTimeoutMs === undefined ? { connectTimeoutMs: config.connectTimeoutMs } : { connectTimeoutMs: config.connectTimeoutMs, idleTimeoutMs: config.idleTimeoutMs };
}
