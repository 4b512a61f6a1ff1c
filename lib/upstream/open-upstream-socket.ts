// openUpstreamSocket: the one place meta-mesh opens a socket to an upstream
// endpoint. Everything about how bytes reach an endpoint (plain TCP today;
// TLS/mTLS with the workload identity when a cluster asks for it) is decided
// here from the cluster's transport settings, so connections, pools and codecs
// never look at sockets' security.
import * as net from 'node:net';
import * as tls from 'node:tls';
import { MeshError, MeshErrorCode } from '../protocol/mesh-error';
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
  if (transport.tls !== undefined) return openTlsSocket(endpoint, transport, onReady);
  const socket = net.connect({ host: endpoint.address, port: endpoint.port });
  socket.setNoDelay(true);
  socket.once('connect', onReady);
  return socket;
}

/**
 * A TLS connection: ready after the handshake and the server identity check. A failure
 * carries `meshReason`, the setting to change. Settings that cannot be built fail the
 * connect: a cluster that asks for TLS never falls back to plaintext.
 */
function openTlsSocket(endpoint: UpstreamEndpoint, transport: UpstreamTransport, onReady: () => void): net.Socket {
  const secure = transport.secure;
  let options: tls.ConnectionOptions;
  try {
    if (secure === undefined) throw new MeshError(MeshErrorCode.CONNECT_FAILURE, `tls mode ${transport.tls!.mode} is set for ${transport.tlsHost ?? endpoint.address} but this mesh has no TLS support wired in`);
    options = secure.connectOptions(endpoint);
  } catch (err) {
    const socket = new net.Socket();
    const error = MeshError.from(err, MeshErrorCode.CONNECT_FAILURE) as MeshError & { meshReason?: string };
    error.meshReason = error.message;
    process.nextTick(() => socket.destroy(error));
    return socket;
  }
  const socket = tls.connect({ ...options, host: endpoint.address, port: endpoint.port });
  socket.setNoDelay(true);
  socket.once('secureConnect', onReady);
  // First listener: the connection's own error handler then reads the reason.
  socket.prependListener('error', (err: Error & { code?: string; meshReason?: string }) => {
    err.meshReason ??= secure!.explain(err);
  });
  return socket;
}
