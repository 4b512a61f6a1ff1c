// MeshState compiles route tables once per route config object: a snapshot
// that keeps a route config (an endpoint change over xDS) reuses its table.
import assert from 'node:assert/strict';
import { ClusterResilienceRegistry } from '../../lib/cluster/cluster-resilience';
import type { RouteConfig, Snapshot } from '../../lib/config/model';
import type { MeshStateDeps } from '../../lib/mesh-state';
import { MeshState } from '../../lib/mesh-state';

const config = (name: string): RouteConfig => ({
  name,
  routes: [{ name: 'all', match: [], clusters: [{ cluster: 'outbound|9090||svc', weight: 1 }], hashPolicy: [], mirrors: [], requestMutation: [], responseMutation: [] }],
});

const snapshot = (version: string, ...configs: RouteConfig[]): Snapshot => ({
  version,
  services: new Map(),
  clusters: new Map(),
  routeConfigs: new Map(configs.map((c) => [c.name, c])),
  warnings: [],
});

describe('MeshState', () => {
  // Only what the constructor touches: no clusters, so no pool or chain is used.
  const deps = { resilience: new ClusterResilienceRegistry() } as unknown as MeshStateDeps;

  it('reuses the compiled table of a route config the next snapshot keeps, and compiles a changed one', () => {
    const kept = config('svc_9090');
    const first = new MeshState(snapshot('1', kept, config('other_9090')), deps);
    const second = new MeshState(snapshot('2', kept, config('other_9090')), deps);
    assert.equal(second.routeTables.get('svc_9090'), first.routeTables.get('svc_9090'));
    assert.notEqual(second.routeTables.get('other_9090'), first.routeTables.get('other_9090'), 'a new config object is compiled afresh');
    assert.equal(second.routeTables.get('other_9090')!.size, 1);
  });
});
