// The admin port's view of one Mesh: the parts it reads, gathered behind
// AdminSource so the server knows nothing of the Mesh class.
import type { MeshState } from '../mesh-state';
import type { UpstreamHost } from '../upstream/upstream-host';
import { clientStatus, istioNodeId, type XdsDump } from '../xds';
import type { AdminSource } from './admin-server';
import { clusterStatuses } from './cluster-status';
import { meshStats } from './mesh-stats';

export interface MeshParts {
  state(): MeshState;
  hosts(): Iterable<UpstreamHost>;
  counters(): ReadonlyMap<string, number>;
  mirror(): Readonly<Record<string, number>>;
  xds(): XdsDump | undefined;
  dump(): Record<string, unknown>;
  live(): boolean;
}

export function meshAdminSource(parts: MeshParts): AdminSource {
  // A mesh without a control plane reports itself under Istio's node id for this pod.
  let nodeId: string | undefined;
  return {
    dump: () => parts.dump(),
    clusters: () => clusterStatuses(parts.state(), parts.hosts()),
    stats: () =>
      meshStats({
        clusters: clusterStatuses(parts.state(), parts.hosts()),
        counters: parts.counters(),
        mirror: parts.mirror(),
        xds: parts.xds(),
        live: parts.live(),
      }),
    ready: () => parts.live(),
    clientStatus: (exclude) =>
      clientStatus({ xds: parts.xds(), snapshot: parts.state().snapshot, node: { id: (nodeId ??= istioNodeId()) }, excludeResourceContents: exclude }),
  };
}
