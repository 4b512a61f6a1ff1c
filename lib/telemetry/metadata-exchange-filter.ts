// The metadata-exchange filter: outbound it writes this workload's Istio
// node metadata into the request (THeader headers, Dubbo attachments) and
// reads the server's from the reply; inbound it reads the caller's from the
// request and answers with its own. The metrics filter then labels both
// sides' Istio metrics with the peer's workload. Peer metadata is telemetry
// only: a caller can claim anything, so nothing here authorizes.
import type { Call, Filter, Reply } from '../filters/call';
import { encodePeerMetadata, PEER_METADATA_ID_KEY, PEER_METADATA_KEY, PeerCache, type PeerWorkload, type WorkloadMetadata } from './peer-metadata';

const peers = new WeakMap<Call, PeerWorkload>();

/** The workload at the other end of `call`, once the exchange has read it (undefined if the peer sent none). */
export function peerOf(call: Call): PeerWorkload | undefined {
  return peers.get(call);
}

export interface MetadataExchangeOptions {
  /** This workload's node metadata. */
  readonly metadata: WorkloadMetadata;
  /** This workload's node id (`sidecar~<ip>~<pod>.<ns>~<ns>.svc.cluster.local`); '' sends none. */
  readonly nodeId: string;
}

export function createMetadataExchangeFilter(options: MetadataExchangeOptions): Filter {
  const encoded = encodePeerMetadata(options.metadata);
  const nodeId = options.nodeId;
  const ours: ReadonlyMap<string, string> = new Map(nodeId === '' ? [[PEER_METADATA_KEY, encoded]] : [[PEER_METADATA_KEY, encoded], [PEER_METADATA_ID_KEY, nodeId]]);
  const cache = new PeerCache();
  const remember = (call: Call, md: { get(key: string): string | undefined }) => {
    const peer = cache.peer(md.get(PEER_METADATA_KEY), md.get(PEER_METADATA_ID_KEY));
    if (peer !== undefined) peers.set(call, peer);
  };

  return (next) => (call) => {
    if (call.direction === 'outbound') {
      for (const [k, v] of ours) call.mutation.set(k, v);
      return next(call).then((reply) => {
        if (reply !== undefined) remember(call, reply.message.metadata);
        return reply;
      });
    }
    remember(call, call.metadata);
    return next(call).then((reply): Reply | undefined => {
      if (reply === undefined) return reply;
      if (reply.mutation === undefined || reply.mutation.size === 0) return { message: reply.message, mutation: ours };
      // The route's own reply mutation wins over ours for the same key.
      return { message: reply.message, mutation: new Map([...ours, ...reply.mutation]) };
    });
  };
}
