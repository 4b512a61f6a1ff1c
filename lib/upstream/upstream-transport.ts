// UpstreamTransport: how meta-mesh reaches a cluster's endpoints (connect
// deadline today; TLS settings join it), taken from the cluster's config in
// the snapshot in force, so a config change applies to the next connect.
import type * as tls from 'node:tls';
import type { ClusterConfig } from '../config/model';
import type { ClusterTls } from '../config/security-model';

/** How to do one cluster's TLS (lib/security builds it; the pool attaches it to the transport). */
export interface UpstreamTlsConnector {
  /** Distinguishes connections made with different settings (part of the pool key). */
  readonly key: string;
  /** Options for tls.connect to one endpoint, built at each connect; throws a MeshError naming the setting to fix. */
  connectOptions(endpoint: { readonly address: string; readonly port: number }): tls.ConnectionOptions;
  /** A handshake failure, said as the setting to change. */
  explain(err: Error & { code?: string }): string;
}

/** Turns a cluster's TLS settings into a connector (set by the mesh on its pool). */
export type UpstreamTlsResolve = (settings: ClusterTls, host: string) => UpstreamTlsConnector;

/** How to reach an endpoint: the cluster's transport settings, read from the snapshot in force at each connect. */
export interface UpstreamTransport {
  /** Deadline for the socket to become usable (TCP connect, and any handshake), in ms. */
  readonly connectTimeoutMs: number;
  /** Close a pooled connection after it carried no call for this long, in ms (default one hour, as Envoy). */
  readonly idleTimeoutMs?: number;
  /** The cluster's TLS (DestinationRule tls, CDS transport_socket); absent = plaintext. */
  readonly tls?: ClusterTls;
  /** The service host the cluster belongs to: TLS's default SNI and name to check. */
  readonly tlsHost?: string;
  /** How to do `tls`, attached by the pool; a transport with `tls` and no connector fails every connect (never plaintext). */
  readonly secure?: UpstreamTlsConnector;
}

/** The transport settings a cluster's config asks for. */
export function clusterTransport(config: ClusterConfig): UpstreamTransport {
  return {
    connectTimeoutMs: config.connectTimeoutMs,
    ...(config.idleTimeoutMs === undefined ? {} : { idleTimeoutMs: config.idleTimeoutMs }),
    ...(config.tls === undefined ? {} : { tls: config.tls, tlsHost: config.host }),
  };
}
