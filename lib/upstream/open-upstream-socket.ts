// openUpstreamSocket: the one place meta-mesh opens a socket to an upstream
// endpoint. Everything about how bytes reach an endpoint (plain TCP today;
// TLS/mTLS with the workload identity when a cluster asks for it) is decided
// here from the cluster's transport settings, so connections, pools and codecs
// never look at sockets' security.
import * as net from 'node:net';
import type { UpstreamTransport } from './upstream-transport';

export interface UpstreamEndpoint {
  readonly address: string;
  readonly port: number;
}

/**
 * Opens a socket to `endpoint`. `onReady` runs once the socket can carry the
 * protocol's bytes (after any handshake); failures arrive as the socket's
 * `error` event. The caller owns the connect deadline and destroys the socket
 * when it passes.
 */
export function openUpstreamSocket(endpoint: UpstreamEndpoint, transport: UpstreamTransport, onReady: () => void): net.Socket {
  void transport;
  const socket = net.connect({ host: endpoint.address, port: endpoint.port });
  socket.setNoDelay(true);
  socket.once('connect', onReady);
  return socket;
}
