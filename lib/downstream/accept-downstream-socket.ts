// acceptDownstreamSocket: the one place an accepted connection is prepared
// before any codec sees its bytes. Plain TCP is ready at once; a TLS listener
// (inbound mTLS) does its handshake here and hands on the secured socket with
// the peer's identity, so servers and codecs never deal with security.
import type * as net from 'node:net';
import * as tls from 'node:tls';

/** The mesh's inbound TLS: PeerAuthentication's mode per port and the workload certificate. */
export interface DownstreamTlsPolicy {
  /** The mTLS mode for connections arriving on `port` (the config in force now). */
  modeFor(port: number): 'STRICT' | 'PERMISSIVE' | 'DISABLE';
  /** Our certificate and the mesh CA (the identity in force now, one object per rotation); undefined without a workload identity. */
  credentials(): DownstreamCredentials | undefined;
  /** A connection refused for `reason` (counted and logged by the mesh). */
  refused(reason: string, remote: string, port: number): void;
  /** A server now listens on `host:port` (xDS-enabled servers ask for their inbound listener). */
  listening?(host: string, port: number): void;
  /** Why `port` refuses every connection now (an xDS-enabled server with no inbound listener), else undefined. */
  notServing?(port: number): string | undefined;
}

/** PEM material of the workload identity; a new object after each rotation. */
export interface DownstreamCredentials {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca: Buffer;
}

/**
 * One TLS server (never listening) per identity: accepted sockets are handed to it, so Node's own
 * server-side checks apply (client certificate required and verified against the mesh CA).
 */
const tlsServers = new WeakMap<DownstreamCredentials, tls.Server>();

interface Handshake {
  secured(socket: tls.TLSSocket): void;
  failed(err: Error & { code?: string }): void;
}

/**
 * Handshakes in progress, by the connection's address 4-tuple (local and remote address and port),
 * which no two open TCP connections share. The TLS socket the server makes reports the same 4-tuple
 * as the accepted socket it wraps (public getters), so no private link between the two is needed.
 */
const handshakes = new Map<string, Handshake>();

function connectionKey(socket: net.Socket): string | undefined {
  const { localAddress, localPort, remoteAddress, remotePort } = socket;
  if (localAddress === undefined || localPort === undefined || remoteAddress === undefined || remotePort === undefined) return undefined;
  return `${localAddress}|${localPort}|${remoteAddress}|${remotePort}`;
}

function tlsServerFor(credentials: DownstreamCredentials): tls.Server {
  let server = tlsServers.get(credentials);
  if (server === undefined) {
    server = tls.createServer({ cert: credentials.cert, key: credentials.key, ca: credentials.ca, requestCert: true, rejectUnauthorized: true });
    server.on('secureConnection', (secure: tls.TLSSocket) => {
      const h = takeHandshake(secure);
      // A secured connection nobody waits for (its handshake already refused): never served.
      if (h === undefined) secure.destroy();
      else h.secured(secure);
    });
    server.on('tlsClientError', (err: Error, secure: tls.TLSSocket) => takeHandshake(secure)?.failed(err));
    tlsServers.set(credentials, server);
  }
  return server;
}

function takeHandshake(secure: tls.TLSSocket): Handshake | undefined {
  const key = connectionKey(secure);
  if (key === undefined) return undefined;
  const h = handshakes.get(key);
  handshakes.delete(key);
  return h;
}

/** What a listener needs to know to secure its connections (TLS settings plug in here). */
export interface DownstreamTransport {
  /** Deadline for a new connection to become usable (any handshake included), in ms. */
  readonly handshakeTimeoutMs?: number;
  /** Mutual TLS by PeerAuthentication; absent = plaintext only. */
  readonly tls?: DownstreamTlsPolicy;
}

/** The first byte of a TLS ClientHello record (content type handshake). No Thrift or Dubbo stream starts with it. */
const TLS_HANDSHAKE = 0x16;
const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;

/** A connection ready for the codec. */
export interface DownstreamSocket {
  readonly socket: net.Socket;
  /** The peer's workload identity (a SPIFFE id) once TLS has verified it; undefined on plain TCP. */
  readonly peerIdentity?: string;
}

/**
 * Prepares `raw` for the protocol. Calls `onReady` once with the socket the
 * codec reads (for TLS, the secured one), or destroys `raw` if it can never
 * become ready (its `close` event then reaches the server's bookkeeping).
 */
export function acceptDownstreamSocket(raw: net.Socket, transport: DownstreamTransport | undefined, onReady: (conn: DownstreamSocket) => void): void {
  raw.setNoDelay(true);
  const policy = transport?.tls;
  const port = raw.localPort ?? 0;
  const notServing = policy?.notServing?.(port);
  if (notServing !== undefined) {
    policy!.refused(notServing, raw.remoteAddress ?? '', port);
    raw.destroy();
    return;
  }
  const mode = policy?.modeFor(port) ?? 'DISABLE';
  if (policy === undefined || mode === 'DISABLE') {
    onReady({ socket: raw });
    return;
  }
  const remote = raw.remoteAddress ?? '';
  // Taken at accept: the 4-tuple the TLS socket will report (a closed socket reports none).
  const key = connectionKey(raw);
  let settled = false;
  const refuse = (reason: string) => {
    clearTimeout(timer);
    if (settled) return;
    settled = true;
    if (key !== undefined && handshakes.get(key) === handshake) handshakes.delete(key);
    policy.refused(reason, remote, port);
    raw.destroy();
  };
  let handshake: Handshake | undefined;
  const timer = setTimeout(() => refuse(`no TLS handshake or first bytes within ${transport?.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS} ms`), transport?.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS);
  timer.unref();
  raw.on('close', () => clearTimeout(timer));
  // Sniff the first bytes: TLS (PERMISSIVE and STRICT) or plaintext (PERMISSIVE only) on one port.
  raw.once('data', (first: Buffer) => {
    raw.pause();
    raw.unshift(first);
    if (first[0] !== TLS_HANDSHAKE) {
      if (mode === 'STRICT') return refuse('plaintext on a port whose PeerAuthentication mode is STRICT');
      clearTimeout(timer);
      onReady({ socket: raw });
      // pause() above stopped the flow; a 'data' listener alone does not restart it.
      raw.resume();
      return;
    }
    const credentials = policy.credentials();
    if (credentials === undefined) return refuse('a TLS handshake, but this workload has no certificate (set Mesh.start({ identity }))');
    if (key === undefined) return refuse('the connection closed before its TLS handshake');
    const server = tlsServerFor(credentials);
    const failed = (why: string) => refuse(`TLS handshake failed (${why}); the client must present a certificate signed by the mesh CA`);
    handshake = {
      secured: (secure) => {
        clearTimeout(timer);
        if (settled) {
          secure.destroy();
          return;
        }
        settled = true;
        secure.setNoDelay(true);
        onReady({ socket: secure });
      },
      failed: (err) => failed(err.code ?? err.message),
    };
    handshakes.set(key, handshake);
    // A handshake the server ends (an untrusted client certificate under TLS 1.3) may report no error
    // with the connection's addresses; its close still settles it.
    raw.once('close', () => failed('the connection closed during the handshake'));
    server.emit('connection', raw);
  });
}
