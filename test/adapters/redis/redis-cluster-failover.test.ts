// A client written for a single Redis, through the mesh, against a real Redis
// Cluster (3 masters, 3 replicas, a 1 s cluster-node-timeout): the existing
// RedisRateLimiter on its hash-tagged keys, and a master SIGKILLed under load.
import assert from 'node:assert/strict';
import calculateSlot from 'cluster-key-slot';
import { Cluster } from 'ioredis';
import { Mesh } from '../../../lib';
import { RedisRateLimiter } from '../../../lib/ratelimit';
import { createRedisClient } from '../../../adapters/redis';
import { startRedisClusterMesh, type RedisClusterMesh } from '../../support/redis-cluster-mesh';
import type { RedisCluster } from '../../support/redis-server';

const ADD = [[{ key: 'method', value: 'add' }]];
const RULES = { domain: 'calc', descriptors: [{ key: 'method', rate_limit: { unit: 'day' as const, requests_per_unit: 5 } }] };

async function admitted(limiter: RedisRateLimiter, n: number): Promise<number> {
  let ok = 0;
  for (let i = 0; i < n; i++) if (!(await limiter.shouldLimit('calc', ADD))) ok++;
  return ok;
}

describe('Redis Cluster through the mesh (real 6-node cluster)', function () {
  this.timeout(90_000);
  let setup: RedisClusterMesh | undefined;
  let cluster: RedisCluster;
  let mesh: Mesh;

  before(async () => {
    setup = await startRedisClusterMesh({
      host: 'cache.redis',
      nodeTimeoutMs: 1000,
      manifests: () => `apiVersion: redis.aeraki.io/v1alpha1
kind: RedisService
metadata: {name: cache}
spec:
  host: [cache.redis]
  settings: {opTimeout: 2s}
  redis: [{route: {host: cache.redis}}]
`,
    });
    ({ cluster, mesh } = setup);
  });
  after(() => setup?.close());

  it('runs the existing RedisRateLimiter on the cluster, directly and through the mesh client', async () => {
    const direct = new Cluster([{ host: '127.0.0.1', port: cluster.ports[0]! }]);
    const viaMesh = createRedisClient(mesh, 'cache.redis', 6379);
    const limiters = [
      new RedisRateLimiter({ redis: direct, rules: RULES, requestTimeoutMs: 1000, keyPrefix: 'rl-direct' }),
      new RedisRateLimiter({ redis: viaMesh, rules: RULES, requestTimeoutMs: 1000, keyPrefix: 'rl-mesh' }),
    ];
    try {
      for (const l of limiters) {
        await l.ready();
        assert.equal(await admitted(l, 12), 5);
        assert.equal(l.stats.failed, 0);
      }
    } finally {
      await Promise.all(limiters.map((l) => l.close()));
      direct.disconnect();
      viaMesh.disconnect();
    }
  });

  it('resumes after a master is SIGKILLed under load, and loses no acknowledged write', async () => {
    const client = createRedisClient(mesh, 'cache.redis', 6379);
    const { masters } = await cluster.roles();
    const victim = cluster.nodes.find((n) => n.port === masters[0])!;
    // The slots the victim serves, from its own CLUSTER SHARDS-less view: CLUSTER SLOTS lines.
    const slotsOut = await cluster.cli(victim.port, 'cluster', 'slots');
    const lines = slotsOut.trim().split('\n');
    const ranges: [number, number][] = [];
    for (let i = 0; i + 3 < lines.length; i++) {
      if (/^\d+$/.test(lines[i]!) && /^\d+$/.test(lines[i + 1]!) && lines[i + 2] === '127.0.0.1' && Number(lines[i + 3]) === victim.port) {
        ranges.push([Number(lines[i]), Number(lines[i + 1])]);
      }
    }
    assert.ok(ranges.length > 0, 'victim serves no slot');
    const onVictim = (key: string) => ranges.some(([a, b]) => calculateSlot(key) >= a && calculateSlot(key) <= b);

    const acknowledged: string[] = [];
    let failed = 0;
    let killed = false;
    let resumedOnVictim = 0;
    let stop = false;
    let seq = 0;
    let wake: (() => void) | undefined;
    const waitFor = (cond: () => boolean) =>
      new Promise<void>((resolve) => {
        const check = () => (cond() ? resolve() : (wake = check));
        check();
      });
    const worker = async () => {
      while (!stop) {
        const key = `w${seq++}`;
        try {
          await client.set(key, key);
          acknowledged.push(key);
          if (killed && onVictim(key)) resumedOnVictim++;
        } catch {
          failed++;
        }
        wake?.();
      }
    };
    const workers = Array.from({ length: 16 }, worker);
    await waitFor(() => acknowledged.length >= 1000);
    await victim.stop(); // SIGKILL
    killed = true;
    await waitFor(() => resumedOnVictim >= 200);
    stop = true;
    wake?.();
    await Promise.all(workers);

    // Every acknowledged write must be readable; MGET is split by slot and reassembled.
    let lost = 0;
    for (let i = 0; i < acknowledged.length; i += 500) {
      const keys = acknowledged.slice(i, i + 500);
      const values = await client.mget(...keys);
      keys.forEach((k, j) => {
        if (values[j] !== k) lost++;
      });
    }
    assert.equal(lost, 0, `${lost} of ${acknowledged.length} acknowledged writes lost (${failed} writes failed during the failover)`);
    assert.ok(resumedOnVictim >= 200);
    client.disconnect();
  });
});
