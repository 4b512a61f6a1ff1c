// What needs a connection of its own, through the mesh, against real
// redis-server processes: pub/sub (a subscriber connection to the channel's
// server; PUBLISH routed the same way), blocking commands (never holding up
// other commands), WATCH ... EXEC on one connection, and MONITOR on a
// service with one server. Keys that do not agree are refused by name.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Redis } from 'ioredis';
import { Mesh } from '../../../lib';
import { createRedisClient, ReplyError, type MeshRedis } from '../../../adapters/redis';
import { RedisServer } from '../../support/redis-server';
import { redisServiceEntry } from '../../support/redis-yaml';

describe('Redis commands on connections of their own (real redis-server)', function () {
  this.timeout(60_000);
  let a: RedisServer;
  let b: RedisServer;
  let dir: string;
  let mesh: Mesh;
  const clients: (Redis | MeshRedis)[] = [];

  function client(host = 'svc.redis'): MeshRedis {
    const c = createRedisClient(mesh, host, 6379);
    clients.push(c);
    return c;
  }
  function raw(port: number): Redis {
    const c = new Redis({ port, host: '127.0.0.1' });
    clients.push(c);
    return c;
  }
  function refused(pattern: RegExp, ...names: string[]) {
    return (err: Error) => err instanceof ReplyError && pattern.test(err.message) && names.every((n) => err.message.includes(`'${n}'`));
  }

  before(async () => {
    [a, b] = await Promise.all([RedisServer.start(), RedisServer.start()]);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-redis-own-'));
    fs.writeFileSync(
      path.join(dir, 'mesh.yaml'),
      redisServiceEntry('svc.redis', [a.port]) +
        redisServiceEntry('a.redis', [a.port]) +
        redisServiceEntry('b.redis', [b.port]) +
        redisServiceEntry('two.redis', [a.port, b.port]) +
        `apiVersion: redis.aeraki.io/v1alpha1
kind: RedisService
metadata: {name: svc}
spec:
  host: [svc.redis]
  settings: {opTimeout: 400ms}
  redis:
    - match: {key: {prefix: "b:"}}
      route: {host: b.redis}
    - route: {host: a.redis}
`,
    );
    mesh = await Mesh.start({ config: dir, watch: false });
  });
  after(async () => {
    for (const c of clients) c.disconnect();
    await mesh?.close();
    await Promise.all([a?.close(), b?.close()]);
    if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('subscribes on the server the channel routes to, and PUBLISH through the mesh reaches it as a message event', async () => {
    const sub = client();
    const subB = client();
    assert.equal(await sub.subscribe('news'), 1);
    assert.equal(await subB.subscribe('b:alerts'), 1);
    assert.deepEqual(await raw(a.port).pubsub('NUMSUB', 'news', 'b:alerts'), ['news', 1, 'b:alerts', 0]);
    assert.deepEqual(await raw(b.port).pubsub('NUMSUB', 'b:alerts'), ['b:alerts', 1]);
    const pub = client();
    const got = once(sub, 'message');
    const gotB = once(subB, 'message');
    assert.equal(await pub.publish('news', 'hello'), 1);
    assert.equal(await pub.publish('b:alerts', 'fire'), 1);
    assert.deepEqual(await got, ['news', 'hello']);
    assert.deepEqual(await gotB, ['b:alerts', 'fire']);
    // The subscribing client still runs ordinary commands on the shared connections.
    assert.equal(await sub.set('after-subscribe', '1'), 'OK');
    assert.equal(await sub.unsubscribe('news'), 0);
    assert.deepEqual(await raw(a.port).pubsub('NUMSUB', 'news'), ['news', 0]);
  });

  it('delivers pattern messages, and refuses channels or patterns that span servers, naming them', async () => {
    const sub = client();
    assert.equal(await sub.psubscribe('ne*'), 1);
    const got = once(sub, 'pmessage');
    await client().publish('news', 'p');
    assert.deepEqual(await got, ['ne*', 'news', 'p']);
    await assert.rejects(client().subscribe('x', 'b:y'), refused(/SUBSCRIBE refused: its channels span/, 'x', 'b:y'));
    await assert.rejects(client().psubscribe('*'), refused(/PSUBSCRIBE refused/, '', 'b:'));
    await assert.rejects(sub.subscribe('b:later'), refused(/SUBSCRIBE refused: this client's subscriptions are on a\.redis/, 'b:later'));
    await assert.rejects(createRedisClient(mesh, 'two.redis', 6379).psubscribe('any*'), /PSUBSCRIBE refused: 'any\*' would match channels that PUBLISH sends to any of the 2 servers/);
  });

  it('runs a blocking command on its own connection: other commands of the client go on, keys must agree', async () => {
    const c = client();
    const popped = c.blpop('queue', 0);
    // The blocked BLPOP holds no shared connection: the same client and others keep working.
    assert.equal(await c.set('while-blocked', 'yes'), 'OK');
    assert.equal(await client().get('while-blocked'), 'yes');
    assert.equal(await client().rpush('queue', 'job'), 1);
    assert.deepEqual(await popped, ['queue', 'job']);
    await assert.rejects(c.blpop('queue', 'b:queue', 1), refused(/BLPOP refused: its keys span routes/, 'queue', 'b:queue'));
    // The block time (0.6 s) outlasts opTimeout (400 ms): the deadline is the block time plus opTimeout.
    assert.equal(await c.brpop('b:empty', 0.6), null);
    const read = c.xread('BLOCK', 5000, 'STREAMS', 'b:stream', '$');
    await blockedOn(raw(b.port));
    await raw(b.port).xadd('b:stream', '*', 'f', 'v');
    const entries = (await read) as [string, [string, string[]][]][];
    assert.equal(entries[0]![0], 'b:stream');
    assert.deepEqual(entries[0]![1][0]![1], ['f', 'v']);
    await assert.rejects(c.wait(1, 10), /WAIT refused/);
  });

  it('runs WATCH and its transaction on one connection: a write by another client aborts it', async () => {
    const c = client();
    await c.set('b:balance', '10');
    assert.equal(await c.watch('b:balance'), 'OK');
    assert.equal(await c.get('b:balance'), '10');
    await client().set('b:balance', '99');
    assert.equal(await c.multi().set('b:balance', '11').exec(), null);
    assert.equal(await c.get('b:balance'), '99');
    // Untouched, the transaction commits.
    await c.watch('b:balance');
    assert.deepEqual(await c.multi().incr('b:balance').exec(), [[null, 100]]);
    assert.equal(await raw(b.port).get('b:balance'), '100');
    // Keys that do not agree are refused, by name.
    await assert.rejects(c.watch('w', 'b:w'), refused(/WATCH refused: its keys span routes/, 'w', 'b:w'));
    await c.watch('w');
    await assert.rejects(c.multi().set('b:w', '1').exec(), /MULTI refused: its keys are on b\.redis shard 0 but the keys it WATCHes are on a\.redis/);
    assert.equal(await raw(b.port).exists('b:w'), 0);
    assert.equal(await c.unwatch(), 'OK');
  });

  it('monitors a service with one server, and refuses MONITOR on a service spread over several', async () => {
    const monitor = await client('a.redis').monitor();
    clients.push(monitor);
    const seen = new Promise<string[]>((resolve) => monitor.on('monitor', (_time: string, args: string[]) => args[0]?.toLowerCase() === 'set' && resolve(args)));
    await client('a.redis').set('monitored', 'x');
    assert.deepEqual(await seen, ['set', 'monitored', 'x']);
    await assert.rejects(client().monitor(), /MONITOR refused: the RedisService of svc\.redis sends commands to 127\.0\.0\.1:\d+, 127\.0\.0\.1:\d+/);
    await assert.rejects(client().call('monitor'), /client\.monitor\(\)/);
  });
});

/** Waits (polling INFO clients, bounded) until the server has a blocked client: a blocking command has arrived. */
async function blockedOn(server: Redis): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (/blocked_clients:[1-9]/.test(await server.info('clients'))) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error('no client blocked on the server');
}
