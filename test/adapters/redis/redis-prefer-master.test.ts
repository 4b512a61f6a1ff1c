// readPolicy PREFER_MASTER against a real 6-node Redis Cluster whose
// cluster-node-timeout is long enough that no failover happens during the
// test: reads go to the slot's master while it is up, and to its replica
// once the master is killed (a MASTER client has nowhere to read then).
import assert from 'node:assert/strict';
import calculateSlot from 'cluster-key-slot';
import { Mesh } from '../../../lib';
import { createRedisClient, type MeshRedis } from '../../../adapters/redis';
import { startRedisClusterMesh, type RedisClusterMesh } from '../../support/redis-cluster-mesh';
import type { RedisCluster } from '../../support/redis-server';
import { redisServiceEntry } from '../../support/redis-yaml';

function getCalls(info: string): number {
  const m = /cmdstat_get:calls=(\d+)/.exec(info);
  return m === null ? 0 : Number(m[1]);
}

describe('readPolicy PREFER_MASTER (real 6-node Redis Cluster)', function () {
  this.timeout(90_000);
  let setup: RedisClusterMesh | undefined;
  let cluster: RedisCluster;
  let mesh: Mesh;
  const clients: MeshRedis[] = [];

  before(async () => {
    const service = (name: string, policy: string): string => `apiVersion: redis.aeraki.io/v1alpha1
kind: RedisService
metadata: {name: ${name}}
spec:
  host: [${name}.redis]
  settings: {readPolicy: ${policy}, opTimeout: 1s}
  redis: [{route: {host: cache.redis}}]
---
`;
    setup = await startRedisClusterMesh({
      host: 'cache.redis',
      nodeTimeoutMs: 60_000,
      manifests: (ports) =>
        redisServiceEntry('prefer.redis', ports) + redisServiceEntry('strict.redis', ports) + service('prefer', 'PREFER_MASTER') + service('strict', 'MASTER'),
    });
    ({ cluster, mesh } = setup);
  });
  after(async () => {
    for (const c of clients) c.disconnect();
    await setup?.close();
  });

  it('reads from the master while it is up and from its replica once it is down', async () => {
    const prefer = createRedisClient(mesh, 'prefer.redis', 6379);
    const strict = createRedisClient(mesh, 'strict.redis', 6379);
    clients.push(prefer, strict);
    const key = 'pm-key';
    assert.equal(await prefer.set(key, 'v'), 'OK');
    // Which nodes serve the key's slot: its master and that master's replica.
    const slots = JSON.stringify(await prefer.cluster('SLOTS'));
    const slot = calculateSlot(key);
    const ranges = JSON.parse(slots) as [number, number, [string, number, string], [string, number, string]][];
    const range = ranges.find(([from, to]) => slot >= from && slot <= to)!;
    const masterPort = range[2][1];
    const replicaPort = range[3][1];
    await cluster.cli(masterPort, 'wait', '1', '5000');
    const replicaReadsBefore = getCalls(await cluster.cli(replicaPort, 'info', 'commandstats'));
    for (let i = 0; i < 5; i++) assert.equal(await prefer.get(key), 'v');
    assert.equal(getCalls(await cluster.cli(replicaPort, 'info', 'commandstats')), replicaReadsBefore, 'reads went to the master while it was up');

    await cluster.nodes.find((n) => n.port === masterPort)!.stop();
    // The mesh notices the lost connection on its own; read until it has (bounded), each read failing fast.
    let value: string | null | undefined;
    for (let i = 0; i < 50 && value === undefined; i++) value = await prefer.get(key).catch(() => undefined);
    assert.equal(value, 'v');
    assert.ok(getCalls(await cluster.cli(replicaPort, 'info', 'commandstats')) > replicaReadsBefore, 'the replica served the read');
    // No failover yet (60 s node timeout): the replica is still a replica, and MASTER has nowhere to read.
    assert.match(await cluster.cli(replicaPort, 'role'), /slave/);
    await assert.rejects(strict.get(key));
  });
});
