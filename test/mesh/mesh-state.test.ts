// MeshState does the work of a config change once per changed object: a
// snapshot that keeps a route config (an endpoint change over xDS) reuses its
// table, and one that keeps a cluster's config object reuses its Cluster
// (balancer, hosts, outlier state), so a one-cluster EDS change rebuilds one cluster.
import assert from 'node:assert/strict';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { ClusterResilienceRegistry } from '../../lib/cluster/cluster-resilience';
import { EndpointCensus } from '../../lib/cluster/endpoint-census';
import type { ClusterConfig, RouteConfig, Snapshot } from '../../lib/config/model';
import type { MeshStateDeps } from '../../lib/mesh-state';
import { MeshState } from '../../lib/mesh-state';
import { UpstreamPool } from '../../lib/upstream/upstream-pool';
import { echoCodecFactory } from '../support/echo-protocol';

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

const cluster = (name: string, ports: readonly number[]): ClusterConfig => ({
  name,
  host: 'svc',
  port: 9090,
  subset: name,
  lbPolicy: 'LEAST_REQUEST',
  connectTimeoutMs: 1000,
  endpoints: ports.map((port) => ({ address: '127.0.0.1', port, labels: {}, weight: 1 })),
  outlierDetection: { consecutive5xxErrors: 1, maxEjectionPercent: 100, baseEjectionTime: 30_000, interval: 10_000 },
});

const withClusters = (version: string, ...clusters: ClusterConfig[]): Snapshot => ({
  ...snapshot(version),
  clusters: new Map(clusters.map((c) => [c.name, c])),
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

  describe('clusters', () => {
    const freshDeps = () => ({ resilience: new ClusterResilienceRegistry(), pool: new UpstreamPool({ connectionsPerEndpoint: 1 }) }) as unknown as MeshStateDeps;
    let census = new EndpointCensus();
    beforeEach(() => (census = new EndpointCensus()));
    /** Whether the swap to `state` leaves some endpoint named by no cluster (the Mesh then sweeps its pool). */
    const endpointLeft = (state: MeshState): boolean => {
      const { added, dropped } = state.takeCensusChanges();
      return census.update(added, dropped);
    };

    it('a change to one cluster rebuilds that cluster only: the others keep their Cluster, balancer, hosts and outlier state', () => {
      const deps = freshDeps();
      const a = cluster('a', [1001, 1002]);
      const b = cluster('b', [2001, 2002]);
      const first = new MeshState(withClusters('1', a, b), deps);
      endpointLeft(first);
      assert.deepEqual([...first.rebuilt].sort(), ['a', 'b']);
      const hostsA = first.clusters.get('a')!.hosts(echoCodecFactory);
      const detectorA = first.clusters.get('a')!.resilience.detector;
      const b2 = cluster('b', [2001, 2003]);
      const second = new MeshState(withClusters('2', a, b2), deps, first);
      assert.deepEqual([...second.rebuilt], ['b'], 'only the changed cluster is built');
      const keptA = second.clusters.get('a')!;
      assert.equal(keptA, first.clusters.get('a'), 'the unchanged cluster is the same object');
      assert.equal(keptA.balancer, first.clusters.get('a')!.balancer);
      assert.equal(keptA.hosts(echoCodecFactory), hostsA);
      assert.equal(keptA.resilience.detector, detectorA);
      assert.notEqual(second.clusters.get('b'), first.clusters.get('b'));
      assert.equal(second.clusters.get('b')!.config, b2);
      assert.equal(endpointLeft(second), true, '127.0.0.1:2002 is named by no cluster now');
    });

    it('keeps an ejection in an unchanged cluster, and picks by identity afterwards, across a change elsewhere', () => {
      const deps = freshDeps();
      const a = cluster('a', [1001, 1002]);
      const first = new MeshState(withClusters('1', a, cluster('b', [2001])), deps);
      endpointLeft(first);
      first.clusters.get('a')!.report(0, 'error-reply');
      const second = new MeshState(withClusters('2', a, cluster('b', [2001, 2002])), deps, first);
      const kept = second.clusters.get('a')!;
      for (let i = 0; i < 5; i++) assert.equal(kept.pickIndex(echoCodecFactory, undefined), 1, 'the ejected host stays out of the picks');
      assert.equal(endpointLeft(second), false, 'an endpoint added, none left: the pool is not swept');
    });

    it('counts an endpoint that moves from one cluster to another as still in use', () => {
      const deps = freshDeps();
      const first = new MeshState(withClusters('1', cluster('a', [1001]), cluster('b', [2001])), deps);
      endpointLeft(first);
      const a = cluster('a', [1001, 2001]);
      const second = new MeshState(withClusters('2', a, cluster('b', [2002])), deps, first);
      assert.equal(endpointLeft(second), false);
      const third = new MeshState(withClusters('3', a), deps, second);
      assert.equal(endpointLeft(third), true, 'cluster b and 127.0.0.1:2002 are gone');
      assert.deepEqual([...third.rebuilt], [], 'a kept its config object');
    });

    it('makes the hosts of the protocols the last Cluster served, in steps, before the new state is in force', () => {
      const deps = freshDeps();
      const ports = Array.from({ length: 1000 }, (_, i) => 3000 + i);
      const first = new MeshState(withClusters('1', cluster('a', ports), cluster('b', [2001])), deps);
      endpointLeft(first);
      const hostsA = first.clusters.get('a')!.hosts(echoCodecFactory);
      // a gets a new config object with one more endpoint; b is rebuilt too but never served a call.
      const snapshot2 = withClusters('2', cluster('a', [...ports, 4000]), cluster('b', [2002]));
      const stepsOf = (build: Generator<void, MeshState, void>): { steps: number; state: MeshState } => {
        let steps = 0;
        for (let next = build.next(); ; next = build.next(), steps++) if (next.done) return { steps, state: next.value };
      };
      const alone = stepsOf(MeshState.build(snapshot2, freshDeps())).steps;
      const { steps, state: second } = stepsOf(MeshState.build(snapshot2, deps, first));
      const a = second.clusters.get('a')!;
      assert.deepEqual([...a.codecFactories()], [echoCodecFactory], 'the hosts are ready before any call');
      assert.deepEqual([...second.clusters.get('b')!.codecFactories()], [], 'no protocol used b: nothing made');
      assert.ok(steps - alone >= 3, `${steps} steps against ${alone}: the 1001 hosts are made a few hundred at a time`);
      const hosts = a.hosts(echoCodecFactory);
      assert.equal(hosts.length, 1001);
      assert.deepEqual(hosts.slice(0, 1000), hostsA, 'the pool’s hosts of the endpoints both snapshots name');
      assert.equal(hosts[1000]!.endpoint, '127.0.0.1:4000');
    });

    it('hands its census changes over once, and then holds none of the previous snapshot’s cluster configs', async () => {
      v8.setFlagsFromString('--expose-gc');
      const gc = vm.runInNewContext('gc') as () => void;
      const deps = freshDeps();
      // The first state and its cluster config are made and dropped in a function of their own: only `old` points at the config.
      const { second, old } = ((c: ClusterConfig) => {
        const first = new MeshState(withClusters('1', c), deps);
        endpointLeft(first);
        const next = new MeshState(withClusters('2', cluster('a', [1002])), deps, first);
        const changes = next.takeCensusChanges();
        assert.deepEqual(changes.added.map((a) => a.endpoints[0]!.port), [1002]);
        assert.deepEqual(changes.dropped, [c]);
        assert.deepEqual(next.takeCensusChanges(), { added: [], dropped: [] }, 'handed over once');
        census.update(changes.added, changes.dropped);
        return { second: next, old: new WeakRef(c) };
      })(cluster('a', [1001]));
      // A WeakRef's target stays alive until the end of the turn that made it.
      await new Promise((resolve) => setImmediate(resolve));
      gc();
      assert.equal(old.deref(), undefined, 'the second state keeps the first snapshot’s cluster config alive');
      assert.equal(second.clusters.get('a')!.config.endpoints[0]!.port, 1002);
    });
  });
});
