// createRedisClient against real redis-server processes: a password-protected
// single server, a plain one, a mirror target, and a real 6-node Redis Cluster
// (3 masters, 3 replicas), all shared by this file.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import calculateSlot from 'cluster-key-slot';
import { Redis } from 'ioredis';
import { Mesh } from '../../../lib';
import { createRedisClient, ReplyError, type MeshRedis } from '../../../adapters/redis';
import { RedisCluster, RedisServer } from '../../support/redis-server';
import { startYamlMesh, type YamlMesh } from '../../support/redis-cluster-mesh';
import { redisClusterDestination, redisServiceEntry } from '../../support/redis-yaml';

function manifests(s: { secured: number; plain: number; mirror: number; cluster: number; master: number; shardA: number; shardB: number }): string {
  return (
    redisServiceEntry('single.redis', [s.secured]) +
    redisServiceEntry('plain.redis', [s.plain]) +
    redisServiceEntry('mirror.redis', [s.mirror]) +
    redisServiceEntry('cluster.redis', [s.cluster]) +
    redisServiceEntry('reads.redis', [s.cluster]) +
    redisServiceEntry('faulty.redis', [s.plain]) +
    redisServiceEntry('guarded.redis', [s.plain]) +
    redisServiceEntry('sharded.redis', [s.shardA, s.shardB]) +
    redisServiceEntry('moved.redis', [s.master]) +
    redisServiceEntry('redirect.redis', [s.master]) +
    `apiVersion: redis.aeraki.io/v1alpha1
kind: RedisDestination
metadata: {name: single}
spec:
  host: single.redis
  trafficPolicy: {connectionPool: {redis: {auth: {plain: {password: server-pw}}}}}
---
` +
    redisClusterDestination('cluster.redis') +
    `apiVersion: redis.aeraki.io/v1alpha1
kind: RedisService
metadata: {name: app}
spec:
  host: [single.redis]
  redis:
    - match: {key: {prefix: cluster-}}
      route: {host: cluster.redis}
    - match: {key: {prefix: "plain:", removePrefix: true}}
      route: {host: plain.redis}
    - route: {host: single.redis}
      mirror: [{route: {host: mirror.redis}, percentage: {value: 100}, excludeReadCommands: true}]
---
apiVersion: redis.aeraki.io/v1alpha1
kind: RedisService
metadata: {name: reads}
spec:
  host: [reads.redis]
  settings: {readPolicy: REPLICA}
  redis: [{route: {host: cluster.redis}}]
---
apiVersion: redis.aeraki.io/v1alpha1
kind: RedisService
metadata: {name: faulty}
spec:
  host: [faulty.redis]
  redis: [{route: {host: plain.redis}}]
  faults: [{type: ERROR, percentage: {value: 50}, commands: [GET]}]
---
apiVersion: redis.aeraki.io/v1alpha1
kind: RedisService
metadata: {name: guarded}
spec:
  host: [guarded.redis]
  settings: {auth: {plain: {password: client-pw}}}
  redis: [{route: {host: plain.redis}}]
---
apiVersion: redis.aeraki.io/v1alpha1
kind: RedisService
metadata: {name: sharded}
spec:
  host: [sharded.redis]
  settings: {enableHashtagging: true}
  redis: [{route: {host: sharded.redis}}]
---
apiVersion: redis.aeraki.io/v1alpha1
kind: RedisService
metadata: {name: redirect}
spec:
  host: [redirect.redis]
  settings: {enableRedirection: true}
  redis: [{route: {host: redirect.redis}}]
`
  );
}

/** Waits (on the event loop, bounded) until the mesh's mirror queue is idle. */
async function mirrorsSettled(mesh: Mesh): Promise<void> {
  for (let i = 0; i < 10_000; i++) {
    const s = mesh.mirrorQueue.stats;
    if (s.running === 0 && s.queued === 0) return;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error('mirror queue never drained');
}

function commandCalls(info: string, command: string): number {
  const m = new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(info);
  return m === null ? 0 : Number(m[1]);
}

describe('createRedisClient (real redis-server and Redis Cluster)', function () {
  this.timeout(60_000);
  let secured: RedisServer;
  let plain: RedisServer;
  let mirror: RedisServer;
  let shardA: RedisServer;
  let shardB: RedisServer;
  let cluster: RedisCluster;
  let meshSetup: YamlMesh | undefined;
  let mesh: Mesh;
  const clients: (Redis | MeshRedis)[] = [];

  function client(host: string, options = {}): MeshRedis {
    const c = createRedisClient(mesh, host, 6379, options);
    clients.push(c);
    return c;
  }
  function raw(port: number, options = {}): Redis {
    const c = new Redis({ port, host: '127.0.0.1', lazyConnect: false, ...options });
    c.on('error', () => undefined); // a refused handshake is what some tests expect
    clients.push(c);
    return c;
  }

  before(async () => {
    [secured, plain, mirror, shardA, shardB, cluster] = await Promise.all([
      RedisServer.start(['--requirepass', 'server-pw']),
      RedisServer.start(),
      RedisServer.start(),
      RedisServer.start(),
      RedisServer.start(),
      // A generous node timeout: a busy machine must not make the cluster see a node as failed.
      RedisCluster.start({ nodeTimeoutMs: 2000 }),
    ]);
    meshSetup = await startYamlMesh(
      manifests({ secured: secured.port, plain: plain.port, mirror: mirror.port, cluster: cluster.ports[0]!, master: (await cluster.roles()).masters[0]!, shardA: shardA.port, shardB: shardB.port }),
    );
    mesh = meshSetup.mesh;
  });
  after(async () => {
    for (const c of clients) c.disconnect();
    await meshSetup?.close();
    await Promise.all([secured, plain, mirror, shardA, shardB, cluster].map((s) => s?.close()));
  });

  it('authenticates for a client that sends no password (AutoAuth), where a raw client is refused', async () => {
    const c = client('single.redis');
    await new Promise((r) => c.once('ready', r));
    assert.equal(await c.set('auto-auth', 'yes'), 'OK');
    assert.equal(await c.get('auto-auth'), 'yes');
    const direct = raw(secured.port);
    await assert.rejects(direct.get('auto-auth'), /NOAUTH/);
  });

  it('routes by key prefix: cluster- keys to the Redis Cluster, others to the single server', async () => {
    const c = client('single.redis');
    assert.equal(await c.set('cluster-a', 'in-cluster'), 'OK');
    assert.equal(await c.set('b', 'in-single'), 'OK');
    const single = raw(secured.port, { password: 'server-pw' });
    assert.equal(await single.get('b'), 'in-single');
    assert.equal(await single.exists('cluster-a'), 0);
    const direct = new Redis.Cluster([{ host: '127.0.0.1', port: cluster.ports[0]! }]);
    try {
      assert.equal(await direct.get('cluster-a'), 'in-cluster');
      assert.equal(await direct.exists('b'), 0);
    } finally {
      direct.disconnect();
    }
  });

  it('removes the prefix when the route says removePrefix', async () => {
    const c = client('single.redis');
    await c.set('plain:stripped', 'v');
    assert.equal(await raw(plain.port).get('stripped'), 'v');
    assert.equal(await c.get('plain:stripped'), 'v');
  });

  it('splits MGET across two routes and the cluster slots and returns values in key order', async () => {
    const c = client('single.redis');
    await c.mset('cluster-x', '1', 'y', '2', 'cluster-z', '3', 'plain:w', '4');
    assert.deepEqual(await c.mget('y', 'cluster-x', 'missing', 'plain:w', 'cluster-z'), ['2', '1', null, '4', '3']);
    assert.deepEqual(await c.mgetBuffer('cluster-x', 'y'), [Buffer.from('1'), Buffer.from('2')]);
    assert.equal(await c.exists('y', 'cluster-x', 'missing'), 2);
    assert.equal(await c.del('y', 'cluster-x', 'cluster-z', 'missing'), 3);
    assert.deepEqual(await c.mget('y', 'cluster-x'), [null, null]);
  });

  it('refuses a MULTI whose keys span routes, naming the command and keys, and writes nothing', async () => {
    const c = client('single.redis');
    await assert.rejects(
      c.multi().set('tx-single', '1').set('cluster-tx', '2').exec(),
      (err: Error) => err instanceof ReplyError && /MULTI refused/.test(err.message) && err.message.includes("'tx-single'") && err.message.includes("'cluster-tx'"),
    );
    assert.deepEqual(await c.mget('tx-single', 'cluster-tx'), [null, null]);
    assert.deepEqual(await c.multi().set('tx-one', '1').incr('tx-one').get('tx-one').exec(), [
      [null, 'OK'],
      [null, 2],
      [null, '2'],
    ]);
    await assert.rejects(c.rename('cluster-r', 'r'), /RENAME refused/);
  });

  it('runs a MULTI on one cluster slot when the keys share a hashtag', async () => {
    const c = client('single.redis');
    const out = await c.multi().set('cluster-{t}1', 'a').set('cluster-{t}2', 'b').mget('cluster-{t}1', 'cluster-{t}2').exec();
    assert.deepEqual(out, [
      [null, 'OK'],
      [null, 'OK'],
      [null, ['a', 'b']],
    ]);
  });

  it('answers with promises, callbacks, pipelines, eval, evalsha and defineCommand', async () => {
    const c = client('single.redis');
    const viaCallback = await new Promise<string | null>((resolve, reject) => {
      // The callback form is under test; the promise each also returns is not.
      void c.set('cb', 'v', (err) => {
        if (err) return reject(err);
        void c.get('cb', (e, v) => (e ? reject(e) : resolve(v ?? null)));
      });
    });
    assert.equal(viaCallback, 'v');
    assert.deepEqual(await c.pipeline().set('p1', 'a').get('p1').get('cluster-none').exec(), [
      [null, 'OK'],
      [null, 'a'],
      [null, null],
    ]);
    assert.equal(await c.eval('return redis.call("GET", KEYS[1])', 1, 'p1'), 'a');
    const sha = (await c.script('LOAD', 'return ARGV[1]')) as string;
    assert.equal(await c.evalsha(sha, 0, 'hi'), 'hi');
    c.defineCommand('getTwice', { numberOfKeys: 1, lua: 'local v = redis.call("GET", KEYS[1]); return v .. v' });
    await c.set('cluster-dc', 'ab');
    assert.equal(await (c as unknown as { getTwice(k: string): Promise<string> }).getTwice('cluster-dc'), 'abab');
    assert.equal(await c.ping(), 'PONG');
    assert.deepEqual(await c.hgetall('cluster-none-hash'), {});
  });

  it('emits ready, then end on quit, and fails commands after it', async () => {
    const c = client('single.redis');
    await new Promise((r) => c.once('ready', r));
    const ended = new Promise((r) => c.once('end', r));
    assert.equal(await c.quit(), 'OK');
    await ended;
    await assert.rejects(c.get('x'), /Connection is closed/);
  });

  it('mirrors writes to the mirror target and leaves reads out (excludeReadCommands)', async () => {
    const c = client('single.redis');
    const before = commandCalls(await raw(mirror.port).info('commandstats'), 'get');
    await c.set('mirrored', 'm');
    await c.get('mirrored');
    await mirrorsSettled(mesh);
    const m = raw(mirror.port);
    assert.equal(await m.get('mirrored'), 'm');
    assert.equal(commandCalls(await m.info('commandstats'), 'get'), before + 1); // only this test's own GET
  });

  it('sends reads to replicas with readPolicy REPLICA (INFO commandstats on the replicas)', async () => {
    const writer = client('single.redis');
    const reader = client('reads.redis');
    const keys = Array.from({ length: 30 }, (_, i) => `cluster-read-${i}`);
    for (const k of keys) await writer.set(k, k);
    const { masters, replicas } = await cluster.roles();
    const gets = async (ports: number[]) => {
      let n = 0;
      for (const p of ports) n += commandCalls(await cluster.cli(p, 'info', 'commandstats'), 'get');
      return n;
    };
    // The cluster client learns the replicas from CLUSTER SLOTS; a node that has not yet seen a
    // replica join leaves it out, and the next refresh (every second) adds it. Wait for that.
    const start = await gets(replicas);
    for (let i = 0; (await gets(replicas)) === start; i++) {
      assert.ok(i < 500, 'no GET reached a replica');
      await reader.get(keys[0]!);
      await new Promise((r) => setTimeout(r, 10));
    }
    const [mastersBefore, replicasBefore] = [await gets(masters), await gets(replicas)];
    for (const k of keys) assert.equal(await reader.get(k), k);
    assert.equal((await gets(replicas)) - replicasBefore, keys.length);
    assert.equal((await gets(masters)) - mastersBefore, 0);
  });

  it('fails about half the GETs with an ERROR fault at 50% and leaves SET untouched', async () => {
    const c = client('faulty.redis');
    let setFailures = 0;
    let faults = 0;
    for (let i = 0; i < 200; i++) {
      await c.set(`f${i}`, 'v').catch(() => setFailures++);
      await c.get(`f${i}`).catch((err: Error) => {
        assert.ok(err instanceof ReplyError, String(err));
        assert.match(err.message, /Fault Injected/);
        faults++;
      });
    }
    assert.equal(setFailures, 0);
    assert.ok(faults > 60 && faults < 140, `${faults} of 200 GETs failed`);
  });

  it("checks the client's own AUTH against settings.auth", async () => {
    const anonymous = client('guarded.redis');
    await assert.rejects(anonymous.get('g'), /NOAUTH/);
    await assert.rejects(anonymous.auth('wrong'), /WRONGPASS/);
    assert.equal(await anonymous.auth('client-pw'), 'OK');
    assert.equal(await anonymous.set('g', '1'), 'OK');
    const withPassword = client('guarded.redis', { password: 'client-pw' });
    await new Promise((r) => withPassword.once('ready', r));
    assert.equal(await withPassword.get('g'), '1');
  });

  it('shards PROXY-mode keys over the endpoints by maglev, on the {hashtag} with enableHashtagging', async () => {
    const c = client('sharded.redis');
    for (let i = 0; i < 40; i++) await c.set(`user:${i}`, String(i));
    for (let i = 0; i < 10; i++) await c.set(`{group}:${i}`, String(i));
    const [a, b] = [raw(shardA.port), raw(shardB.port)];
    const [na, nb] = [await a.dbsize(), await b.dbsize()];
    assert.equal(na + nb, 50);
    assert.ok(na > 5 && nb > 5, `${na}/${nb} keys per shard`);
    const tagged = [await a.exists(...Array.from({ length: 10 }, (_, i) => `{group}:${i}`)), await b.exists(...Array.from({ length: 10 }, (_, i) => `{group}:${i}`))];
    assert.ok(tagged.includes(10) && tagged.includes(0), `hashtagged keys split ${tagged}`);
    for (let i = 0; i < 40; i++) assert.equal(await c.get(`user:${i}`), String(i));
    assert.deepEqual(await c.mget('user:1', 'user:2', 'user:3'), ['1', '2', '3']);
  });

  it('runs pub/sub, a blocking command and WATCH on connections of their own against the Redis Cluster route', async () => {
    const sub = client('single.redis');
    assert.equal(await sub.subscribe('cluster-events'), 1);
    const got = once(sub, 'message');
    // PUBLISH goes to any node; Redis Cluster carries it to the subscriber's node.
    await client('single.redis').publish('cluster-events', 'e1');
    assert.deepEqual(await got, ['cluster-events', 'e1']);
    const c = client('single.redis');
    const popped = c.blpop('cluster-queue', 5);
    await client('single.redis').rpush('cluster-queue', 'job');
    assert.deepEqual(await popped, ['cluster-queue', 'job']);
    assert.equal(await c.watch('cluster-{acct}a'), 'OK');
    assert.deepEqual(await c.multi().set('cluster-{acct}a', '1').set('cluster-{acct}b', '2').exec(), [
      [null, 'OK'],
      [null, 'OK'],
    ]);
    await assert.rejects(c.blpop('cluster-queue', 'b-queue', 1), (err: Error) => err instanceof ReplyError && /BLPOP refused/.test(err.message) && err.message.includes("'b-queue'"));
  });

  it('follows MOVED and ASK in PROXY mode with enableRedirection, and passes MOVED on without it', async () => {
    // PROXY hosts whose one endpoint is a cluster master: keys of other masters' slots answer MOVED.
    const master = (await cluster.roles()).masters[0]!;
    const nodes = await clusterNodes(cluster, master);
    const me = nodes.find((n) => n.port === master)!;
    const other = nodes.find((n) => n.master && n.port !== master)!;
    const movedKey = keyWhere((slot) => !me.slots.has(slot));
    const passOn = client('moved.redis');
    const follow = client('redirect.redis');
    await assert.rejects(passOn.get(movedKey), (err: Error) => err instanceof ReplyError && /^MOVED \d+ 127\.0\.0\.1:\d+$/.test(err.message));
    assert.equal(await follow.set(movedKey, 'followed'), 'OK');
    assert.equal(await follow.get(movedKey), 'followed');
    // ASK: a slot of this master migrating to another; a key not here is asked for there.
    const askKey = keyWhere((slot) => me.slots.has(slot));
    const slot = String(calculateSlot(askKey));
    await cluster.cli(other.port, 'cluster', 'setslot', slot, 'importing', me.id);
    await cluster.cli(master, 'cluster', 'setslot', slot, 'migrating', other.id);
    try {
      await assert.rejects(passOn.get(askKey), /^ReplyError: ASK \d+ /);
      assert.equal(await follow.set(askKey, 'asked'), 'OK');
      assert.equal((await cluster.cli(other.port, 'cluster', 'countkeysinslot', slot)).trim(), '1');
      assert.equal(await follow.get(askKey), 'asked');
      await raw(other.port).pipeline().call('asking').del(askKey).exec();
    } finally {
      await cluster.cli(master, 'cluster', 'setslot', slot, 'stable');
      await cluster.cli(other.port, 'cluster', 'setslot', slot, 'stable');
    }
  });

  it('fails every command to a host no ServiceEntry declares, saying what to add', async () => {
    const c = client('nowhere.redis');
    await assert.rejects(c.get('k'), /no ServiceEntry declares nowhere.redis port 6379/);
  });
});

interface ClusterNode {
  readonly id: string;
  readonly port: number;
  readonly master: boolean;
  readonly slots: ReadonlySet<number>;
}

/** CLUSTER NODES as seen by one node: ids, ports, roles and the slots each master serves. */
async function clusterNodes(cluster: RedisCluster, port: number): Promise<ClusterNode[]> {
  const out = await cluster.cli(port, 'cluster', 'nodes');
  return out
    .trim()
    .split('\n')
    .map((line) => {
      const [id, addr, flags, , , , , , ...ranges] = line.split(' ');
      const slots = new Set<number>();
      for (const r of ranges) {
        if (r.startsWith('[')) continue;
        const [from, to] = r.split('-').map(Number);
        for (let s = from!; s <= (to ?? from!); s++) slots.add(s);
      }
      return { id: id!, port: Number(addr!.split('@')[0]!.split(':')[1]), master: flags!.includes('master'), slots };
    });
}

/** The first key r0, r1, ... whose hash slot satisfies `wanted`. */
function keyWhere(wanted: (slot: number) => boolean): string {
  for (let i = 0; ; i++) if (wanted(calculateSlot(`r${i}`))) return `r${i}`;
}
