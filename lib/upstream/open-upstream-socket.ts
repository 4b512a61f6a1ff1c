// openUpstreamSocket: the one place meta-mesh opens a socket to an upstream
// endpoint. Everything about how bytes reach an endpoint (plain TCP today;
// TLS/mTLS with the workload identity when a cluster asks for it) is decided
// here from the cluster's transport settings, so connections, pools and codecs
// never look at sockets' security. TLS sessions are resumed (TLS 1.3 tickets,
// as Envoy's upstream TLS does): a pool that opens a connection to an endpoint
// it already reached skips the certificate exchange, as long as the TLS
// settings and the workload identity are the ones the session was made with.
import * as net from 'node:net';
import * as tls from 'node:tls';
import { MeshError, MeshErrorCode } from '../protocol/mesh-error';
import type { UpstreamTlsConnector, UpstreamTransport } from './upstream-transport';

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
  const resumable = options.secureContext !== undefined;
  const sessionKey = `${endpoint.address}:${endpoint.port}|${options.servername ?? ''}`;
  const cached = resumable ? sessionsOf(secure!).get(sessionKey) : undefined;
  const session = cached !== undefined && cached.context === options.secureContext ? cached.session : undefined;
  const socket = tls.connect({ ...options, ...(session === undefined ? {} : { session }), host: endpoint.address, port: endpoint.port });
  socket.setNoDelay(true);
  socket.once('secureConnect', onReady);
  if (resumable) {
    const context = options.secureContext;
    socket.on('session', (ticket: Buffer) => rememberSession(secure!, sessionKey, context, ticket));
    // A session that led to a failed handshake is not offered again.
    socket.once('error', () => sessionsOf(secure!).delete(sessionKey));
  }
  // First listener: the connection's own error handler then reads the reason.
  socket.prependListener('error', (err: Error & { code?: string; meshReason?: string }) => {
    err.meshReason ??= secure!.explain(err);
  });
  return socket;
}

/** Sessions kept per connector (one per cluster TLS setting): at most this many endpoints each. */
const MAX_SESSIONS = 4096;
const sessions = new WeakMap<UpstreamTlsConnector, Map<string, { readonly context: tls.SecureContext | undefined; readonly session: Buffer }>>();

function sessionsOf(connector: UpstreamTlsConnector): Map<string, { readonly context: tls.SecureContext | undefined; readonly session: Buffer }> {
  let map = sessions.get(connector);
  if (map === undefined) {
    map = new Map();
    sessions.set(connector, map);
  }
  return map;
}

function rememberSession(connector: UpstreamTlsConnector, key: string, context: tls.SecureContext | undefined, session: Buffer): void {
  const map = sessionsOf(connector);
  map.delete(key);
  map.set(key, { context, session });
  if (map.size > MAX_SESSIONS) map.delete(map.keys().next().value!);
}
