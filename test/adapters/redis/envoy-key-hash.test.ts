// PROXY mode picks a key's server as Envoy's redis_proxy does: MurmurHash2-64
// (libstdc++'s std::hash<std::string>, seed 0xc70f6907) of the key, or of its
// {hashtag} with enableHashtagging, into the cluster's maglev table (hosts by
// "address:port", xxHash64 offset/skip, 65537 entries). The hash vectors were
// computed with g++'s std::hash<std::string> on x86-64; the table is rebuilt
// here from the algorithm, independently of lib/cluster/lb. While servers are
// out (ejected by outlier detection, unhealthy by EDS) Envoy's thread-aware
// balancer rebuilds the table over the available ones, or over all of them
// when their share is under the panic threshold: so does the mesh.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Redis } from 'ioredis';
import { Mesh } from '../../../lib';
import { createRedisClient } from '../../../adapters/redis';
import { murmurHash2_64, murmurHash2_64Mod } from '../../../adapters/redis/murmur-hash2';
import { hashtagOf, ProxyBackend, type BackendEndpoint, type BackendSpec } from '../../../adapters/redis/redis-backend';
import { xxhash64 } from '../../../lib/protocol/xxhash64';
import { RedisServer } from '../../support/redis-server';
import { redisServiceEntry } from '../../support/redis-yaml';

/** std::hash<std::string>{}(s) from libstdc++ (g++ 12, x86-64). */
const STD_HASH: readonly [string, bigint][] = [
  ['', 0x553e93901e462a6en],
  ['a', 0x454ddee488c1ed6bn],
  ['foo', 0x85a8e535edf11e5an],
  ['user:42', 0x7f4fa36430215121n],
  ['{user}:42', 0xd369743a126240ean],
  ['0123456789abcdef', 0x934b0d760642ed86n],
  ['exactly8', 0xbc769552f7635847n],
  ['hello world, fifteen+', 0x893a2b51f673b11cn],
  ['été', 0xc06adaf473848e7bn],
];

const TABLE_SIZE = 65537;

/** Envoy's maglev table for equal-weight hosts: each host, in "address:port" order, claims its next free preferred entry per round. */
function envoyMaglev(hosts: readonly string[]): number[] {
  const order = hosts.map((h, i) => ({ h, i })).sort((x, y) => (x.h < y.h ? -1 : x.h > y.h ? 1 : 0));
  const offset = order.map(({ h }) => Number(xxhash64(h) % BigInt(TABLE_SIZE)));
  const skip = order.map(({ h }) => Number(xxhash64(h, 1n) % BigInt(TABLE_SIZE - 1)) + 1);
  const next = order.map(() => 0);
  const table = new Array<number>(TABLE_SIZE).fill(-1);
  let filled = 0;
  while (filled < TABLE_SIZE) {
    for (let k = 0; k < order.length && filled < TABLE_SIZE; k++) {
      let c = (offset[k]! + skip[k]! * next[k]!) % TABLE_SIZE;
      while (table[c] !== -1) c = (offset[k]! + skip[k]! * ++next[k]!) % TABLE_SIZE;
      table[c] = order[k]!.i;
      next[k]!++;
      filled++;
    }
  }
  return table;
}

function spec(endpoints: readonly BackendEndpoint[], enableHashtagging: boolean, extra: Partial<BackendSpec> = {}): BackendSpec {
  return {
    ...extra,
    key: 'test',
    mode: 'PROXY',
    host: 'shards.redis',
    cluster: 'outbound|6379||shards.redis',
    endpoints,
    readPolicy: 'MASTER',
    enableHashtagging,
    enableRedirection: false,
    maxUpstreamUnknownConnections: 100,
    maxBufferSizeBeforeFlush: 0,
    bufferFlushTimeoutMs: 3,
  };
}

/** The table entry of a key. */
function entryOf(key: string): number {
  return Number(murmurHash2_64(key) % BigInt(TABLE_SIZE));
}

/** Envoy's table over a subset of the hosts, as endpoint indexes of the whole list. */
function envoyMaglevOver(hosts: readonly string[], available: readonly number[]): number[] {
  return envoyMaglev(available.map((i) => hosts[i]!)).map((k) => available[k]!);
}

/**
 * The first `count` keys `prefix<i>` whose server differs between two tables and whose server in `before` passes `filter`.
 * Removing one of three servers moves as few as a handful of a healthy server's 65537 entries (it depends on the
 * servers' random ports), so the search runs long enough to hit even a single moving entry many times; the
 * (tested) BigInt-free remainder keeps that fast.
 */
function keysThatMove(prefix: string, before: readonly number[], after: readonly number[], count: number, filter: (server: number) => boolean): string[] {
  let entries = 0;
  for (let e = 0; e < TABLE_SIZE; e++) if (before[e] !== after[e] && filter(before[e]!)) entries++;
  assert.ok(entries > 0, 'no table entry moves between the two tables');
  const out: string[] = [];
  for (let i = 0; out.length < count && i < 5_000_000; i++) {
    const e = murmurHash2_64Mod(`${prefix}${i}`, TABLE_SIZE);
    if (before[e] !== after[e] && filter(before[e]!)) out.push(`${prefix}${i}`);
  }
  assert.equal(out.length, count, `found keys that move (${entries} table entries move)`);
  return out;
}

describe("PROXY-mode key hash (Envoy redis_proxy's)", () => {
  it('hashes as std::hash<std::string> (MurmurHash2-64, seed 0xc70f6907), UTF-8 bytes and every tail length', () => {
    for (const [key, want] of STD_HASH) assert.equal(murmurHash2_64(key), want, `'${key}'`);
    assert.equal(murmurHash2_64(Buffer.from('foo')), 0x85a8e535edf11e5an);
  });

  it('gives the table entry without BigInt: the same remainder as the 64-bit hash', () => {
    for (let i = 0; i < 2000; i++) {
      const key = `k${i}:${'x'.repeat(i % 23)}`;
      for (const m of [65537, 3, 1_000_003]) assert.equal(murmurHash2_64Mod(key, m), Number(murmurHash2_64(key) % BigInt(m)), `${key} mod ${m}`);
    }
  });

  it('takes the hashtag as Envoy does: the first {...} with something inside, else the whole key', () => {
    assert.equal(hashtagOf('{user}:42'), 'user');
    assert.equal(hashtagOf('a{b}{c}'), 'b');
    assert.equal(hashtagOf('{}x{y}'), '{}x{y}');
    assert.equal(hashtagOf('x{y'), 'x{y');
    assert.equal(hashtagOf('plain'), 'plain');
  });

  it('sends each key to the server Envoy picks for the same key and endpoints', () => {
    const endpoints = [
      { address: '10.0.0.7', port: 6379 },
      { address: '10.0.0.12', port: 6379 },
      { address: '10.0.1.3', port: 6380 },
    ];
    const table = envoyMaglev(endpoints.map((e) => `${e.address}:${e.port}`));
    const plain = new ProxyBackend(spec(endpoints, false), () => true, () => undefined);
    const tagged = new ProxyBackend(spec(endpoints, true), () => true, () => undefined);
    const seen = new Set<number>();
    for (let i = 0; i < 300; i++) {
      const key = `user:${i}`;
      const want = table[Number(murmurHash2_64(key) % BigInt(TABLE_SIZE))]!;
      assert.equal(plain.shardOf(key), want, key);
      seen.add(want);
      const taggedKey = `{tenant${i % 7}}:${key}`;
      assert.equal(tagged.shardOf(taggedKey), table[Number(murmurHash2_64(`tenant${i % 7}`) % BigInt(TABLE_SIZE))]!, taggedKey);
    }
    assert.equal(seen.size, 3, 'keys spread over every server');
    // Fixed vectors (table entry, then server), so a change to the table or the hash shows here too.
    const vectors: [string, number, number][] = [
      ['user:42', 17685, 0],
      ['foo', 36855, 2],
      ['a', 65089, 1],
      ['session:9f2c', 11305, 1],
    ];
    for (const [key, entry, server] of vectors) {
      assert.equal(Number(murmurHash2_64(key) % BigInt(TABLE_SIZE)), entry, key);
      assert.equal(table[entry], server, key);
      assert.equal(plain.shardOf(key), server, key);
    }
  });

  describe('while servers are out (the table over the available servers, all of them in panic)', () => {
    const endpoints = [
      { address: '10.0.0.7', port: 6379 },
      { address: '10.0.0.12', port: 6379 },
      { address: '10.0.1.3', port: 6380 },
      { address: '10.0.1.9', port: 6379 },
    ];
    const hosts = endpoints.map((e) => `${e.address}:${e.port}`);
    const all = envoyMaglev(hosts);

    it('leaves an unhealthy (EDS) server out of a table rebuilt over the others, built once and cached', () => {
      const unhealthy = endpoints.map((e, i) => (i === 2 ? { ...e, healthy: false } : e));
      const backend = new ProxyBackend(spec(unhealthy, false, { lb: { healthyPanicThreshold: 50 } }), () => true, () => undefined);
      const rebuilt = envoyMaglevOver(hosts, [0, 1, 3]);
      // Keys on a healthy server move too (maglev's small disruption): a per-key rehash of the unhealthy server's keys would keep them.
      const moved = keysThatMove('u', all, rebuilt, 5, (server) => server !== 2);
      for (const key of moved) assert.equal(backend.shardOf(key), rebuilt[entryOf(key)], key);
      for (let i = 0; i < 500; i++) assert.equal(backend.shardOf(`k${i}`), rebuilt[entryOf(`k${i}`)], `k${i}`);
      assert.equal(backend.tableRebuilds, 1, 'one table for the one change of health');
    });

    it('uses every server below the panic threshold, and none when there is no panic threshold and none is healthy', () => {
      const twoDown = endpoints.map((e, i) => (i < 3 ? { ...e, healthy: false } : e));
      // 1 of 4 healthy, under 50%: panic, Envoy's table over all four.
      const panic = new ProxyBackend(spec(twoDown, false, { lb: { healthyPanicThreshold: 50 } }), () => true, () => undefined);
      // Threshold 0 (Istio's with outlierDetection and no minHealthPercent): the one healthy server takes every key.
      const noPanic = new ProxyBackend(spec(twoDown, false, { lb: { healthyPanicThreshold: 0 } }), () => true, () => undefined);
      for (let i = 0; i < 300; i++) {
        assert.equal(panic.shardOf(`p${i}`), all[entryOf(`p${i}`)], `p${i}`);
        assert.equal(noPanic.shardOf(`p${i}`), 3, `p${i}`);
      }
      const noneHealthy = endpoints.map((e) => ({ ...e, healthy: false }));
      const none = new ProxyBackend(spec(noneHealthy, false, { lb: { healthyPanicThreshold: 0 } }), () => true, () => undefined);
      // No host (Envoy: "no upstream host"): a shard past the servers, whose commands fail with that error.
      assert.equal(none.shardOf('x'), endpoints.length);
    });
  });

  describe('with real redis-server processes and outlier detection', function () {
    this.timeout(60_000);
    let servers: RedisServer[] = [];
    let dir: string;
    let mesh: Mesh | undefined;

    beforeEach(async () => {
      servers = await Promise.all([RedisServer.start(), RedisServer.start(), RedisServer.start()]);
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-redis-eject-'));
    });
    afterEach(async () => {
      await mesh?.close();
      mesh = undefined;
      await Promise.all(servers.map((s) => s.close()));
      fs.rmSync(dir, { recursive: true, force: true });
    });

    function yaml(minHealthPercent: number): string {
      return (
        redisServiceEntry('shards.redis', servers.map((s) => s.port)) +
        `apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: shards}
spec:
  host: shards.redis
  trafficPolicy: {outlierDetection: {consecutive5xxErrors: 1, interval: 30s, baseEjectionTime: 60s, maxEjectionPercent: 100, minHealthPercent: ${minHealthPercent}}}
---
apiVersion: redis.aeraki.io/v1alpha1
kind: RedisService
metadata: {name: shards}
spec:
  host: [shards.redis]
  settings: {opTimeout: 1s}
  redis: [{route: {host: shards.redis}}]
`
      );
    }

    /** Which server each key is on, read from the servers themselves. */
    async function whereIs(keys: readonly string[], on: readonly number[]): Promise<Map<string, number>> {
      const where = new Map<string, number>();
      for (const i of on) {
        const peek = new Redis({ port: servers[i]!.port });
        const values = await peek.mget(...keys);
        values.forEach((v, k) => v !== null && where.set(keys[k]!, i));
        peek.disconnect();
      }
      return where;
    }

    /** A mesh over the three servers; Envoy's tables over all of them and without the third; keys of the first two the rebuild moves. */
    async function setUp(minHealthPercent: number) {
      fs.writeFileSync(path.join(dir, 'mesh.yaml'), yaml(minHealthPercent));
      mesh = await Mesh.start({ config: dir });
      const client = createRedisClient(mesh, 'shards.redis', 6379);
      const hosts = servers.map((s) => `127.0.0.1:${s.port}`);
      const all = envoyMaglev(hosts);
      const rebuilt = envoyMaglevOver(hosts, [0, 1]);
      return { client, all, rebuilt, moving: keysThatMove('m', all, rebuilt, 6, (server) => server !== 2) };
    }

    it("sends each key where Envoy's table rebuilt without the ejected server puts it", async () => {
      // Keys of the healthy servers that Envoy's rebuilt table moves, keys of the ejected one, and others.
      const { client, all, rebuilt, moving } = await setUp(0);
      const ejectedKeys = keysThatMove('e', all, rebuilt, 6, (server) => server === 2);
      const keys = [...moving, ...ejectedKeys, ...Array.from({ length: 30 }, (_, i) => `k${i}`)];
      try {
        for (const key of keys) await client.set(key, 'before');
        const before = await whereIs(keys, [0, 1, 2]);
        for (const key of keys) assert.equal(before.get(key), all[entryOf(key)], `${key} before the ejection`);

        await servers[2]!.stop();
        // One failure (a timeout) ejects the stopped server.
        await assert.rejects(client.get(ejectedKeys[0]!), /timed out/);
        for (const s of servers.slice(0, 2)) {
          const flush = new Redis({ port: s.port });
          await flush.flushall();
          flush.disconnect();
        }
        for (const key of keys) await client.set(key, 'during');
        const during = await whereIs(keys, [0, 1]);
        for (const key of keys) assert.equal(during.get(key), rebuilt[entryOf(key)], `${key} during the ejection`);
      } finally {
        client.disconnect();
      }
    });

    it('keeps the whole table in panic (fewer available servers than minHealthPercent)', async () => {
      const { client, all, rebuilt, moving } = await setUp(70);
      try {
        await servers[2]!.stop();
        const onStopped = keysThatMove('e', all, rebuilt, 1, (server) => server === 2)[0]!;
        await assert.rejects(client.get(onStopped), /timed out/);
        // 2 of 3 available is under 70%: Envoy balances over all three, so the stopped server's keys still go to it.
        await assert.rejects(client.get(onStopped), /timed out/);
        for (const key of moving) await client.set(key, 'panic');
        const where = await whereIs(moving, [0, 1]);
        for (const key of moving) assert.equal(where.get(key), all[entryOf(key)], `${key} in panic`);
      } finally {
        client.disconnect();
      }
    });
  });
});
