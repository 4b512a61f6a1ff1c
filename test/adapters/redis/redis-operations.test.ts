// What the mesh's machinery does to Redis commands: hot reload (calls in
// flight finish on the config they started with; a bad file keeps the last
// good config), opTimeout, maxConnections, and telemetry (a span, a duration
// sample with OTel database semconv, an access-log line per command).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Redis } from 'ioredis';
import { ConfigError, Mesh } from '../../../lib';
import { createRedisClient } from '../../../adapters/redis';
import { RedisServer } from '../../support/redis-server';
import { redisServiceEntry } from '../../support/redis-yaml';
import { pointsWhere, registerOtelSdk, spansNamed, type OtelSdk } from '../../telemetry/otel-sdk';

function service(target: string, extra = ''): string {
  return `apiVersion: redis.aeraki.io/v1alpha1
kind: RedisService
metadata: {name: app}
spec:
  host: [app.redis]
  settings: {opTimeout: 1500ms}
  redis: [{route: {host: ${target}.redis}}]
${extra}`;
}

describe('Redis commands and the mesh machinery (real redis-server)', function () {
  this.timeout(60_000);
  let a: RedisServer;
  let b: RedisServer;
  let dir: string;
  let file: string;
  const closers: (() => unknown)[] = [];

  function base(): string {
    return redisServiceEntry('app.redis', [a.port]) + redisServiceEntry('a.redis', [a.port]) + redisServiceEntry('b.redis', [b.port]) + redisServiceEntry('two.redis', [a.port, b.port]);
  }

  before(async () => {
    [a, b] = await Promise.all([RedisServer.start(), RedisServer.start()]);
    const ra = new Redis({ port: a.port });
    const rb = new Redis({ port: b.port });
    await ra.set('where', 'a');
    await rb.set('where', 'b');
    ra.disconnect();
    rb.disconnect();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-redis-ops-'));
    file = path.join(dir, 'mesh.yaml');
  });
  afterEach(async () => {
    a.unpause();
    for (const c of closers.splice(0).reverse()) await c();
  });
  after(async () => {
    await Promise.all([a?.close(), b?.close()]);
    if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
  });

  async function start(yaml: string, options = {}): Promise<Mesh> {
    fs.writeFileSync(file, yaml);
    // Watching on: mesh.reload() needs the file source (the tests call it rather than wait for the watcher).
    const mesh = await Mesh.start({ config: dir, ...options });
    closers.push(() => mesh.close());
    return mesh;
  }

  it('finishes a call in flight on the config it started with; the next call follows the new config', async () => {
    const delayed = `  faults: [{type: DELAY, percentage: {value: 100}, delay: 0.2s, commands: [GET]}]\n`;
    const mesh = await start(base() + service('a', delayed));
    const client = createRedisClient(mesh, 'app.redis', 6379);
    closers.push(() => client.disconnect());
    const inFlight = client.get('where');
    fs.writeFileSync(file, base() + service('b'));
    await mesh.reload();
    assert.equal(await inFlight, 'a');
    assert.equal(await client.get('where'), 'b');
  });

  it('keeps the last good config when a reload has a bad RedisService', async () => {
    const mesh = await start(base() + service('a'));
    const client = createRedisClient(mesh, 'app.redis', 6379);
    closers.push(() => client.disconnect());
    assert.equal(await client.get('where'), 'a');
    fs.writeFileSync(file, base() + service('nowhere'));
    await assert.rejects(mesh.reload(), (err: Error) => err instanceof ConfigError && /no ServiceEntry declares host 'nowhere.redis'/.test(err.message));
    assert.equal(await client.get('where'), 'a');
  });

  it('fails a command after opTimeout when the server does not answer', async () => {
    const mesh = await start(base() + service('a'));
    const client = createRedisClient(mesh, 'app.redis', 6379);
    closers.push(() => client.disconnect());
    assert.equal(await client.get('where'), 'a');
    a.pause();
    const t0 = performance.now();
    await assert.rejects(client.get('where'), /timed out/);
    const ms = performance.now() - t0;
    assert.ok(ms >= 1400 && ms < 8000, `timed out after ${ms} ms`);
  });

  it('enforces maxConnections of a RedisDestination on the connections the mesh opens', async () => {
    const mesh = await start(
      base() +
        `apiVersion: redis.aeraki.io/v1alpha1
kind: RedisDestination
metadata: {name: two}
spec:
  host: two.redis
  trafficPolicy: {connectionPool: {tcp: {maxConnections: 1}}}
`,
    );
    const client = createRedisClient(mesh, 'two.redis', 6379);
    closers.push(() => client.disconnect());
    const results = await Promise.allSettled(Array.from({ length: 40 }, (_, i) => client.set(`k${i}`, 'v')));
    const refused = results.filter((r) => r.status === 'rejected');
    assert.ok(refused.length > 0 && refused.length < 40, `${refused.length} of 40 refused`);
    for (const r of refused) assert.match(String((r as PromiseRejectedResult).reason), /maxConnections of RedisDestination two.redis reached/);
  });

  it('ejects a PROXY server that stops answering (outlierDetection) and moves its keys to the others', async () => {
    const c = await RedisServer.start();
    closers.push(() => c.close());
    const mesh = await start(
      base() +
        redisServiceEntry('pair.redis', [a.port, c.port]) +
        `apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: pair}
spec:
  host: pair.redis
  trafficPolicy: {outlierDetection: {consecutive5xxErrors: 3, interval: 10s, baseEjectionTime: 30s, maxEjectionPercent: 100}}
---
apiVersion: redis.aeraki.io/v1alpha1
kind: RedisService
metadata: {name: pair}
spec:
  host: [pair.redis]
  settings: {opTimeout: 1s}
  redis: [{route: {host: pair.redis}}]
`,
    );
    const client = createRedisClient(mesh, 'pair.redis', 6379);
    closers.push(() => client.disconnect());
    for (let i = 0; i < 20; i++) await client.set(`o${i}`, 'v');
    const peek = new Redis({ port: c.port });
    const onC = (await peek.keys('o*')).length;
    peek.disconnect();
    assert.ok(onC > 0, 'no key sharded to the second server');
    await c.stop();
    let failures = 0;
    for (let i = 0; i < 20; i++) await client.set(`o${i}`, 'w').catch(() => failures++);
    assert.ok(failures >= 3 && failures < onC + 3, `${failures} failures`);
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => client.set(`o${i}`, 'x')));
    assert.equal(results.filter((r) => r.status === 'rejected').length, 0);
  });

  describe('telemetry', () => {
    let sdk: OtelSdk;
    before(() => (sdk = registerOtelSdk()));
    after(() => sdk.shutdown());

    it('writes a CLIENT span, a db.client.operation.duration sample and an access-log line per command', async () => {
      const lines: string[] = [];
      const mesh = await start(base() + service('a'), {
        telemetry: { tracing: true, metrics: true, accessLog: { format: 'text', stream: { write: (l: string) => lines.push(l) } } },
      });
      const client = createRedisClient(mesh, 'app.redis', 6379);
      closers.push(() => client.disconnect());
      await client.set('t', '1');
      await client.get('t');
      await client.hget('t', 'f').catch(() => undefined); // WRONGTYPE
      const [span] = spansNamed(sdk.spans, 'GET');
      assert.ok(span !== undefined);
      assert.equal(span.attributes['db.system.name'], 'redis');
      assert.equal(span.attributes['db.operation.name'], 'GET');
      assert.equal(span.attributes['server.address'], 'app.redis');
      assert.equal(spansNamed(sdk.spans, 'HGET')[0]!.attributes['error.type'], 'WRONGTYPE');
      const duration = (await sdk.collect()).get('db.client.operation.duration');
      assert.equal(duration?.descriptor.unit, 's');
      assert.equal(pointsWhere(duration, { 'db.system.name': 'redis', 'db.operation.name': 'SET' }).length, 1);
      assert.equal(lines.length, 3);
      assert.match(lines[1]!, /"redis GET" OK/);
      assert.match(lines[2]!, /"redis HGET" WRONGTYPE/);
    });
  });
});

describe('package entry point meta-mesh/redis', () => {
  it('loads createRedisClient and ReplyError with require and import', async () => {
    const { execFileSync } = await import('node:child_process');
    const root = path.resolve(__dirname, '../../../..');
    const cjs = execFileSync(process.execPath, ['-e', "const r = require('meta-mesh/redis'); console.log(typeof r.createRedisClient, typeof r.ReplyError)"], { cwd: root });
    assert.equal(cjs.toString().trim(), 'function function');
    const esm = execFileSync(process.execPath, ['--input-type=module', '-e', "import { createRedisClient, MeshRedis } from 'meta-mesh/redis'; console.log(typeof createRedisClient, typeof MeshRedis)"], { cwd: root });
    assert.equal(esm.toString().trim(), 'function function');
  });
});
