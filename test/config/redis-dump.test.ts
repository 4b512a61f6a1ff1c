// RedisService and RedisDestination in `meta-mesh dump --config` and in
// mesh.dump() (what the admin /config_dump serves): routes, mode, endpoints
// and settings, and never a password (plain or read from a secret).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Mesh } from '../../lib';
import { loadConfigFiles, snapshotToJSON } from '../../lib/config';
import { redisServiceEntry } from '../support/redis-yaml';

const CLI = path.resolve(__dirname, '../../bin/meta-mesh.js');
const CLIENT_PW = 'client-pw-8c1f';
const SERVER_PW = 'server-pw-51aa';
const SECRET_PW = 'secret-pw-0d2e';

function yaml(destAuth: string): string {
  return (
    redisServiceEntry('app.redis', [7001]) +
    redisServiceEntry('cache.redis', [7002, 7003]) +
    redisServiceEntry('shards.redis', [7004]) +
    `apiVersion: redis.aeraki.io/v1alpha1
kind: RedisService
metadata: {name: app}
spec:
  host: [app.redis]
  settings: {readPolicy: PREFER_MASTER, enableRedirection: true, auth: {plain: {username: app, password: ${CLIENT_PW}}}}
  redis:
    - match: {key: {prefix: "c:", removePrefix: true}}
      route: {host: shards.redis}
      mirror: [{route: {host: cache.redis}, percentage: {value: 25}}]
    - route: {host: cache.redis}
---
apiVersion: redis.aeraki.io/v1alpha1
kind: RedisDestination
metadata: {name: shards}
spec:
  host: shards.redis
  trafficPolicy: {connectionPool: {redis: {mode: CLUSTER, discoveryEndpoints: ["127.0.0.1:7100", "127.0.0.2"], auth: ${destAuth}}}}
---
apiVersion: redis.aeraki.io/v1alpha1
kind: RedisDestination
metadata: {name: cache}
spec:
  host: cache.redis
  trafficPolicy: {connectionPool: {tcp: {maxConnections: 4}, redis: {auth: {plain: {password: ${SERVER_PW}}}}}}
`
  );
}

interface RouteJSON {
  prefix?: string;
  removePrefix: boolean;
  target: { host: string; mode: string; endpoints: string[] };
  mirrors: { target: { host: string }; fraction: number }[];
}
interface DumpJSON {
  redis: {
    services: Record<string, { routes: RouteJSON[]; catchAll: RouteJSON; settings: { readPolicy: string; enableRedirection: boolean; auth: { username: string } } }>;
    destinations: Record<string, { mode: string; maxConnections?: number; discoveryEndpoints: string[]; auth: unknown }>;
  };
}

function checkRedis(config: DumpJSON, text: string): void {
  const app = config.redis.services['app.redis:6379']!;
  assert.equal(app.routes.length, 1);
  const [route] = app.routes;
  assert.equal(route!.prefix, 'c:');
  assert.equal(route!.removePrefix, true);
  assert.deepEqual(route!.target, { host: 'shards.redis', port: 6379, cluster: 'outbound|6379||shards.redis', mode: 'CLUSTER', endpoints: ['127.0.0.1:7100', '127.0.0.2:6379'] });
  assert.deepEqual(route!.mirrors.map((m) => [m.target.host, m.fraction]), [['cache.redis', 0.25]]);
  assert.deepEqual(app.catchAll.target, { host: 'cache.redis', port: 6379, cluster: 'outbound|6379||cache.redis', mode: 'PROXY', endpoints: ['127.0.0.1:7002', '127.0.0.1:7003'] });
  assert.equal(app.settings.readPolicy, 'PREFER_MASTER');
  assert.equal(app.settings.enableRedirection, true);
  assert.equal(app.settings.auth.username, 'app');
  assert.equal(config.redis.destinations['cache.redis']!.maxConnections, 4);
  assert.deepEqual(config.redis.destinations['shards.redis']!.discoveryEndpoints, ['127.0.0.1:7100', '127.0.0.2']);
  for (const pw of [CLIENT_PW, SERVER_PW, SECRET_PW]) assert.ok(!text.includes(pw), `the dump shows a password (${pw})`);
  assert.match(text, /\(set, not shown\)/);
}

describe('Redis config in dumps', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-redis-dump-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('snapshotToJSON and mesh.dump() show routes, modes and endpoints, and no password (plain or from a secret)', async () => {
    const secrets = path.join(dir, 'secrets');
    fs.mkdirSync(path.join(secrets, 'redis-auth'), { recursive: true });
    fs.writeFileSync(path.join(secrets, 'redis-auth', 'password'), SECRET_PW);
    const config = path.join(dir, 'config');
    fs.mkdirSync(config);
    fs.writeFileSync(path.join(config, 'mesh.yaml'), yaml('{secret: {name: redis-auth}}'));
    const snapshot = await loadConfigFiles([config], { secretDir: secrets });
    assert.equal(snapshot.redis?.destinations.get('shards.redis')?.auth?.password, SECRET_PW);
    const json = snapshotToJSON(snapshot);
    checkRedis(json as unknown as DumpJSON, JSON.stringify(json));
    const mesh = await Mesh.start({ config, watch: false, secretDir: secrets });
    try {
      const dump = mesh.dump() as { config: DumpJSON };
      checkRedis(dump.config, JSON.stringify(dump));
    } finally {
      await mesh.close();
    }
  });

  it('meta-mesh dump --config prints them too, without passwords', async () => {
    const file = path.join(dir, 'mesh.yaml');
    fs.writeFileSync(file, yaml(`{plain: {password: ${SECRET_PW}}}`));
    const out = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, [CLI, 'dump', '--config', file], { timeout: 15_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message} ${stderr}`)) : resolve(stdout))),
    );
    checkRedis((JSON.parse(out) as { config: DumpJSON }).config, out);
  });
});
