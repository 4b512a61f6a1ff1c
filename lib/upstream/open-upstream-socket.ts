// openUpstreamSocket: the one place meta-mesh opens a socket to an upstream
// endpoint. Everything about how bytes reach an endpoint (plain TCP today;
// TLS/mTLS with the workload identity when a cluster asks for it) is decided
// here from the cluster's transport settings, so connections, pools and codecs
// never look at sockets' security. TLS sessions are resumed (TLS 1.3 tickets,
// as Envoy's upstream TLS does): a pool that opens a connection to an endpoint
// it already reached skips the certificate exchange, as long as the TLS
// settings and the workload identity are the ones the session was made with.
// Bytes read can go straight to a callback (`onData`) instead of through the
// socket's readable stream: Node reads into one buffer shared by every such
// socket, and each read is copied out at once into a buffer of its own
// (small reads come from Node's buffer pool). That spares, per read, the
// stream's push/emit machinery, its next-tick and a 64 KiB allocation that
// is then shrunk: with one call in flight per connection, every reply is
// one read.
import * as net from 'node:net';
import * as tls from 'node:tls';
import { MeshError, MeshErrorCode } from '../protocol/mesh-error';
import type { UpstreamTlsConnector, UpstreamTransport } from './upstream-transport';

export interface UpstreamEndpoint {
  readonly address: string;
  readonly port: number;
}

/** Bytes read from the peer, in a buffer the receiver owns. */
export type UpstreamDataListener = (chunk: Buffer) => void;

/**
 * Opens a socket to `endpoint`. `onReady` runs once the socket can carry the
 * protocol's bytes (after any handshake); failures arrive as the socket's
 * `error` event. The caller owns the connect deadline and destroys the socket
 * when it passes. With `onData`, every read is handed to it (and the socket
 * emits no `data` events); without, read the socket as a stream.
 */
export function openUpstreamSocket(endpoint: UpstreamEndpoint, transport: UpstreamTransport, onReady: () => void, onData?: UpstreamDataListener): net.Socket {
  const onread = onData === undefined ? undefined : readInto(onData);
  if (transport.tls !== undefined) return openTlsSocket(endpoint, transport, onReady, onread);
  const socket = net.connect({ host: endpoint.address, port: endpoint.port, ...(onread === undefined ? {} : { onread }) });
  socket.setNoDelay(true);
  socket.once('connect', onReady);
  return socket;
}

/**
 * A TLS connection: ready after the handshake and the server identity check. A failure
 * carries `meshReason`, the setting to change. Settings that cannot be built fail the
 * connect: a cluster that asks for TLS never falls back to plaintext.
 */
function openTlsSocket(endpoint: UpstreamEndpoint, transport: UpstreamTransport, onReady: () => void, onread: net.OnReadOpts | undefined): net.Socket {
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
  const socket = tls.connect({
    ...options,
    ...(session === undefined ? {} : { session }),
    ...(onread === undefined ? {} : { onread }),
    host: endpoint.address,
    port: endpoint.port,
  });
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

/** What Node reads into for every socket opened with `onData`: each read is copied out before the next one can happen. */
const READ_BUFFER_BYTES = 64 * 1024;
let readBuffer: Buffer | undefined;

function readInto(onData: UpstreamDataListener): net.OnReadOpts {
  readBuffer ??= Buffer.allocUnsafe(READ_BUFFER_BYTES);
  return {
    buffer: readBuffer,
    callback: (bytes: number, buf: Uint8Array) => {
      // The shared buffer is overwritten by the next read of any socket (TLS may deliver
      // several before control returns to the event loop): the receiver gets its own copy.
      const chunk = Buffer.allocUnsafe(bytes);
      chunk.set(bytes === buf.length ? buf : buf.subarray(0, bytes));
      onData(chunk);
      return true;
    },
  };
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
