// RedisService / RedisDestination manifests: upstream field names, routes
// resolved to ServiceEntry clusters, secrets from the mounted secret dir, and
// bad input reported with file, line and a did-you-mean.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError, parseConfig, type Snapshot } from '../../lib/config';

const ENTRIES = `apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: a}
spec:
  hosts: [a.redis]
  ports: [{number: 6379, name: tcp-redis, protocol: TCP}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1, ports: {tcp-redis: 7001}}]
---
apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: b}
spec:
  hosts: [b.redis]
  ports: [{number: 6380, name: tcp-redis-b, protocol: TCP}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1, ports: {tcp-redis-b: 7002}}]
---
`;

function parse(yaml: string, secretDir?: string): Snapshot {
  return parseConfig([{ file: 'redis.yaml', text: ENTRIES + yaml }], secretDir === undefined ? {} : { secretDir });
}

function problems(yaml: string, secretDir?: string): string {
  try {
    parse(yaml, secretDir);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.message;
  }
  assert.fail('expected a ConfigError');
}

/** Line of `text` in the combined file (1-based). */
function lineOf(yaml: string, text: string): number {
  const lines = (ENTRIES + yaml).split('\n');
  return lines.findIndex((l) => l.includes(text)) + 1;
}

describe('RedisService and RedisDestination config', () => {
  it('resolves prefix routes to ServiceEntry clusters, longest prefix first, with settings and faults', () => {
    const s = parse(`apiVersion: redis.aeraki.io/v1alpha1
kind: RedisService
metadata: {name: a}
spec:
  host: [a.redis]
  settings: {opTimeout: 2s, readPolicy: PREFER_REPLICA, enableHashtagging: true}
  redis:
    - match: {key: {prefix: b}}
      route: {host: b.redis}
    - match: {key: {prefix: bb, removePrefix: true}}
      route: {host: b.redis, port: 6380}
      mirror: [{route: {host: a.redis}, percentage: {value: 25}, excludeReadCommands: true}]
    - route: {host: a.redis}
  faults: [{type: ERROR, percentage: {value: 50}, commands: [GET]}]
`);
    const p = s.redis!.services.get('a.redis:6379')!;
    assert.deepEqual(p.routes.map((r) => [r.prefix, r.removePrefix, r.target.cluster]), [
      ['bb', true, 'outbound|6380||b.redis'],
      ['b', false, 'outbound|6380||b.redis'],
    ]);
    assert.equal(p.catchAll?.target.cluster, 'outbound|6379||a.redis');
    assert.deepEqual(p.routes[0]!.mirrors.map((m) => [m.target.cluster, m.fraction, m.excludeReadCommands]), [['outbound|6379||a.redis', 0.25, true]]);
    assert.equal(p.settings.opTimeoutMs, 2000);
    assert.equal(p.settings.readPolicy, 'PREFER_REPLICA');
    assert.equal(p.settings.enableHashtagging, true);
    assert.deepEqual(p.faults, [{ type: 'ERROR', fraction: 0.5, delayMs: 0, commands: ['get'] }]);
    assert.equal(s.services.get('a.redis:6379')!.protocol, 'redis');
  });

  it('reads RedisDestination mode, discovery endpoints, pool limits and plain auth', () => {
    const s = parse(`apiVersion: redis.aeraki.io/v1alpha1
kind: RedisDestination
metadata: {name: a}
spec:
  host: a.redis
  trafficPolicy:
    connectionPool:
      tcp: {maxConnections: 4, connectTimeout: 250ms}
      redis: {mode: CLUSTER, discoveryEndpoints: ['127.0.0.1:7001', 'node-2'], auth: {plain: {username: u, password: p}}}
`);
    assert.deepEqual(s.redis!.destinations.get('a.redis'), {
      host: 'a.redis',
      mode: 'CLUSTER',
      auth: { username: 'u', password: 'p' },
      discoveryEndpoints: [
        { host: '127.0.0.1', port: 7001 },
        { host: 'node-2', port: 0 },
      ],
      maxConnections: 4,
      connectTimeoutMs: 250,
    });
  });

  it('reads secret auth from <secretDir>/<name>/<field>, password then token by default', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-secrets-'));
    try {
      fs.mkdirSync(path.join(dir, 'redis-creds'));
      fs.writeFileSync(path.join(dir, 'redis-creds', 'token'), 's3cret\n');
      fs.writeFileSync(path.join(dir, 'redis-creds', 'user'), 'app');
      const s = parse(
        `apiVersion: redis.aeraki.io/v1alpha1
kind: RedisDestination
metadata: {name: a}
spec:
  host: a.redis
  trafficPolicy: {connectionPool: {redis: {auth: {secret: {name: redis-creds, usernameField: user}}}}}
`,
        dir,
      );
      assert.deepEqual(s.redis!.destinations.get('a.redis')!.auth, { password: 's3cret', username: 'app' });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports a missing secret with file, line and the secret name', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-secrets-'));
    const yaml = `apiVersion: redis.aeraki.io/v1alpha1
kind: RedisService
metadata: {name: a}
spec:
  host: [a.redis]
  settings:
    auth:
      secret:
        name: nowhere
  redis: [{route: {host: a.redis}}]
`;
    try {
      const msg = problems(yaml, dir);
      assert.match(msg, new RegExp(`redis\\.yaml:${lineOf(yaml, 'name: nowhere')}`));
      assert.match(msg, /secret 'nowhere' not found/);
      assert.ok(msg.includes(path.join(dir, 'nowhere', 'password')), msg);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports unknown fields with a did-you-mean, an invalid readPolicy and a route to an undeclared host', () => {
    const yaml = `apiVersion: redis.aeraki.io/v1alpha1
kind: RedisService
metadata: {name: a}
spec:
  host: [a.redis]
  settings: {readPolicy: REPLICAS, opTimeot: 1s}
  redis:
    - match: {key: {prefix: x, removePrefx: true}}
      route: {host: nowhere.redis}
    - route: {host: a.redis}
---
apiVersion: redis.aeraki.io/v1alpha1
kind: RedisDestinaton
metadata: {name: d}
spec: {host: a.redis}
`;
    const msg = problems(yaml);
    assert.match(msg, /'REPLICAS' is not allowed; did you mean 'REPLICA'\?/);
    assert.match(msg, /unknown field 'opTimeot'; did you mean 'opTimeout'\?/);
    assert.match(msg, /unknown field 'removePrefx'; did you mean 'removePrefix'\?/);
    assert.match(msg, new RegExp(`redis\\.yaml:${lineOf(yaml, 'nowhere.redis')}.*no ServiceEntry declares host 'nowhere.redis'`));
    assert.match(msg, /unknown kind 'RedisDestinaton' in redis.aeraki.io; did you mean 'RedisDestination'\?/);
  });

  it('refuses a prefix routed twice and two catch-all routes', () => {
    const msg = problems(`apiVersion: redis.aeraki.io/v1alpha1
kind: RedisService
metadata: {name: a}
spec:
  host: [a.redis]
  redis:
    - match: {key: {prefix: x}}
      route: {host: a.redis}
    - match: {key: {prefix: x}}
      route: {host: b.redis}
    - route: {host: a.redis}
    - route: {host: b.redis}
`);
    assert.match(msg, /prefix 'x' is also routed by spec.redis\[0\]/);
    assert.match(msg, /only one catch-all route/);
  });
});

describe('RedisService short host names', () => {
  it("resolve in the document's namespace, as Istio resolves them", () => {
    const s = parseConfig([
      {
        file: 'short.yaml',
        text: `apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: r, namespace: shop}
spec:
  hosts: [cache.shop.svc.cluster.local, store.shop.svc.cluster.local]
  ports: [{number: 6379, name: tcp-redis, protocol: TCP}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1}]
---
apiVersion: redis.aeraki.io/v1alpha1
kind: RedisService
metadata: {name: cache, namespace: shop}
spec:
  host: [cache]
  redis: [{route: {host: store}}]
`,
      },
    ]);
    const p = s.redis!.services.get('cache.shop.svc.cluster.local:6379')!;
    assert.equal(p.catchAll?.target.cluster, 'outbound|6379||store.shop.svc.cluster.local');
  });
});
