// The identity of an inbound connection's peer: its address, and with mutual
// TLS the SPIFFE id of its verified client certificate. Calls carry it in
// Call.peer and under the metadata keys below; anything a peer writes under
// those keys (a THeader header, a Dubbo attachment) is removed first, so a
// caller can never claim an identity its certificate does not prove.
import type * as net from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { CallPeer } from '../filters/call';
import type { Metadata } from '../protocol/metadata';
import { spiffeIdOf } from './spiffe-id';

/** Metadata keys meta-mesh sets from the connection (Istio attribute names). */
export const SOURCE_PRINCIPAL = 'source.principal';
export const SOURCE_NAMESPACE = 'source.namespace';
/** Istio's header for the peer's certificate; dropped from what peers send, as Envoy's sanitize mode does. */
export const FORWARDED_CLIENT_CERT = 'x-forwarded-client-cert';

export function peerOf(socket: net.Socket): CallPeer {
  const address = socket.remoteAddress ?? '';
  const tls = socket as Partial<TLSSocket>;
  if (tls.encrypted !== true || typeof tls.getPeerX509Certificate !== 'function' || tls.authorized !== true) return { address };
  const id = spiffeIdOf(tls.getPeerX509Certificate());
  if (id === undefined) return { address };
  return { address, principal: id.principal, ...(id.namespace === undefined ? {} : { namespace: id.namespace }) };
}

/** Removes peer-written look-alikes of the identity keys, then sets the verified ones. */
export function stripPeerLookalikes(metadata: Metadata, peer: CallPeer): void {
  if (metadata.size > 0) {
    metadata.delete(SOURCE_PRINCIPAL);
    metadata.delete(SOURCE_NAMESPACE);
    metadata.delete(FORWARDED_CLIENT_CERT);
  }
  if (peer.principal !== undefined) metadata.setLowerCased(SOURCE_PRINCIPAL, peer.principal);
  if (peer.namespace !== undefined) metadata.setLowerCased(SOURCE_NAMESPACE, peer.namespace);
}
