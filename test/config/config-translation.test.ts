// How manifests turn into the model beyond the thrift demo: Aeraki's matcher
// rules, default routes, DNS services, weights, ports, and the warnings for
// fields that are accepted but not enforced.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseConfig } from '../../lib/config';
import { EXTRA_SERVICES } from './fixtures';
import { CALC, SERVICE, parse, router } from './manifests';
import { defined } from '../support/defined';

const withRouter = (routes: string) => parse(`${SERVICE}---\n${router(routes)}`);

describe('config translation', () => {
  it('translates attribute matchers as Aeraki does and lower-cases their keys', () => {
    const snapshot = withRouter(`    - match:
        attributes:
          Method: {prefix: get}
          version: {regex: "v[0-9]+"}
          user-id:
          group: {regex: "*"}
          tenant: {exact: ""}
          empty: {}
      route:
        - destination: {host: ${CALC}}
`);
    const route = snapshot.routeConfigs.get(`${CALC}_9090`)?.routes[0];
    assert.deepEqual(route?.match, [
      { name: 'method', kind: 'prefix', value: 'get' },
      { name: 'version', kind: 'regex', value: 'v[0-9]+' },
      { name: 'user-id', kind: 'present', present: true },
      { name: 'group', kind: 'present', present: true },
      { name: 'tenant', kind: 'present', present: true },
    ]);
    assert.deepEqual(snapshot.warnings, [
      `a.yaml:${SERVICE.split('\n').length + 15}: MetaRouter default/calc-route (document 3): spec.routes[0].match.attributes.empty: ` +
        "attribute 'empty' has an empty matcher and is dropped, as Aeraki does; set exact, prefix or regex, or write 'empty:' with no value to require the key",
    ]);
  });

  it('applies a MetaRouter to every port of its host, defaulting destinations to that port', () => {
    const snapshot = withRouter(`    - route:
        - destination: {host: ${CALC}, subset: v1}
        - destination: {host: ${CALC}, subset: v2, port: {number: 9090}}
`);
    assert.deepEqual(snapshot.routeConfigs.get(`${CALC}_9091`)?.routes[0]?.clusters, [
      { cluster: `outbound|9091|v1|${CALC}`, weight: 1 },
      { cluster: `outbound|9090|v2|${CALC}`, weight: 1 },
    ]);
    assert.deepEqual(snapshot.routeConfigs.get(`${CALC}_9090`)?.routes[0]?.clusters, [
      { cluster: `outbound|9090|v1|${CALC}`, weight: 1 },
      { cluster: `outbound|9090|v2|${CALC}`, weight: 1 },
    ]);
  });

  it('treats absent weights in a split as 0 when others are set, and a lone destination as weight 1', () => {
    const snapshot = withRouter(`    - route:
        - destination: {host: ${CALC}, subset: v1}
          weight: 3
        - destination: {host: ${CALC}, subset: v2}
    - route:
        - destination: {host: ${CALC}, subset: v1}
          weight: 0
`);
    const [split, lone] = (snapshot.routeConfigs.get(`${CALC}_9090`)?.routes ?? []).map((r, i) => defined(r, `route ${i}`));
    assert.ok(split && lone, 'two routes');
    assert.deepEqual(split.clusters.map((c) => c.weight), [3, 0]);
    assert.deepEqual(lone.clusters, [{ cluster: `outbound|9090|v1|${CALC}`, weight: 1 }]);
    assert.equal(split.name, '');
  });

  it('mirrors every call when mirrorPercentage is absent, and warns that 0 also means every call', () => {
    const snapshot = withRouter(`    - route:
        - destination: {host: ${CALC}, subset: v1}
      mirror: {host: ${CALC}, subset: v2}
    - route:
        - destination: {host: ${CALC}, subset: v1}
      mirror: {host: ${CALC}}
      mirrorPercentage: {value: 0}
`);
    const [a, b] = snapshot.routeConfigs.get(`${CALC}_9090`)?.routes ?? [];
    assert.ok(a && b, 'two routes');
    assert.deepEqual(a.mirrors, [{ cluster: `outbound|9090|v2|${CALC}`, fraction: 1 }]);
    assert.deepEqual(b.mirrors, [{ cluster: `outbound|9090||${CALC}`, fraction: 1 }]);
    assert.equal(snapshot.warnings.length, 1);
    assert.match(defined(snapshot.warnings[0], 'a warning'), /spec\.routes\[1\]\.mirrorPercentage\.value: is 0, which Aeraki treats as 100%/);
  });

  it('translates fault delay and abort, warning that a fault with no percentage never fires', () => {
    const snapshot = withRouter(`    - route:
        - destination: {host: ${CALC}}
      timeout: 0s
      retries: {attempts: 3}
      fault:
        delay: {fixedDelay: 2s, percentage: {value: 12.5}}
        abort: {errorCode: 14}
`);
    const route = snapshot.routeConfigs.get(`${CALC}_9090`)?.routes[0];
    assert.deepEqual(route?.fault, { delay: { fraction: 0.125, delayMs: 2000 }, abort: { fraction: 0, errorCode: '14' } });
    assert.deepEqual(route?.retries, { attempts: 3, perTryTimeoutMs: 0, retryOn: ['connect-failure', 'refused-stream', 'unavailable', 'cancelled'] });
    assert.equal(route?.timeoutMs, undefined); // Istio: 0 disables the timeout
    assert.equal(snapshot.warnings.length, 1);
    assert.match(defined(snapshot.warnings[0], 'a warning'), /spec\.routes\[0\]\.fault\.abort\.percentage: is not set, so \(as in Istio\) no call gets this fault/);
  });

  it('gives a host with no MetaRouter one catch-all route with the DestinationRule hash key', () => {
    const snapshot = parseConfig([{ file: 'extra.yaml', text: readFileSync(EXTRA_SERVICES, 'utf8') }]);
    const redis = snapshot.routeConfigs.get('redis.cache.svc.cluster.local_6379');
    assert.deepEqual(redis, {
      name: 'redis.cache.svc.cluster.local_6379',
      routes: [
        {
          name: 'default',
          match: [],
          clusters: [{ cluster: 'outbound|6379||redis.cache.svc.cluster.local', weight: 1 }],
          hashPolicy: ['key'],
          mirrors: [],
          requestMutation: [],
          responseMutation: [],
        },
      ],
    });
    assert.equal(snapshot.clusters.get('outbound|6379||redis.cache.svc.cluster.local')?.lbPolicy, 'MAGLEV');
    assert.equal(snapshot.services.get('redis.cache.svc.cluster.local:6379')?.protocol, 'redis');
  });

  it('resolves a DNS service with no endpoints to its host name on the target port', () => {
    const snapshot = parseConfig([{ file: 'extra.yaml', text: readFileSync(EXTRA_SERVICES, 'utf8') }]);
    const host = 'org.apache.dubbo.samples.basic.api.demoservice';
    const cluster = snapshot.clusters.get(`outbound|20880||${host}`);
    assert.deepEqual(cluster, {
      name: `outbound|20880||${host}`,
      host,
      port: 20880,
      subset: '',
      endpoints: [{ address: host, port: 20881, labels: {}, weight: 1 }],
      lbPolicy: 'ROUND_ROBIN',
      connectTimeoutMs: 10_000,
    });
    assert.equal(snapshot.services.get(`${host}:20880`)?.protocol, 'dubbo');
  });

  it('carries maglev table size and outlier detection into the cluster, with no warning', () => {
    const snapshot = parseConfig([{ file: 'extra.yaml', text: readFileSync(EXTRA_SERVICES, 'utf8') }]);
    assert.deepEqual(snapshot.warnings, []);
    const redis = [...snapshot.clusters.values()].find((c) => c.lbPolicy === 'MAGLEV')!;
    assert.ok(redis.lb?.maglev?.tableSize !== undefined && redis.lb.maglev.tableSize > 0);
    assert.ok(redis.outlierDetection !== undefined);
    // Istio sets the panic threshold from minHealthPercent once outlier detection is on.
    assert.equal(redis.lb?.healthyPanicThreshold, redis.outlierDetection.minHealthPercent ?? 0);
  });

  it('warns once per field that is accepted but not enforced, naming file and line', () => {
    const snapshot = parse(`${SERVICE.replace('  subsets:', '  trafficPolicy:\n    connectionPool:\n      tcp: {maxConnectionDuration: 5s}\n    proxyProtocol: {version: V1}\n  subsets:')}`);
    assert.deepEqual(
      snapshot.warnings.map((w) => w.replace(/^a\.yaml:\d+: /, '')),
      [
        "DestinationRule default/calc (document 2): spec.trafficPolicy.connectionPool.tcp.maxConnectionDuration: 'maxConnectionDuration' is accepted but not enforced yet",
        "DestinationRule default/calc (document 2): spec.trafficPolicy.proxyProtocol: 'proxyProtocol' is accepted but not enforced yet",
      ],
    );
  });

  it('warns about gateways and a DestinationRule for an undeclared host without failing, and carries rate limits', () => {
    const snapshot = parse(`${SERVICE}---
${router(`    - route:\n        - destination: {host: ${CALC}}\n`)}  gateways: [istio-system/meta-gateway]
  localRateLimit:
    tokenBucket: {maxTokens: 10, tokensPerFill: 10, fillInterval: 60s}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: other}
spec:
  host: other.example
  trafficPolicy:
    connectionPool:
      tcp: {maxConnections: 10, connectTimeout: 1s}
`);
    assert.deepEqual(
      snapshot.warnings.map((w) => w.replace(/^a\.yaml:\d+: /, '')),
      [
        "MetaRouter default/calc-route (document 3): spec.gateways: 'gateways' is accepted but not enforced yet",
        `DestinationRule default/other (document 4): spec.host: no ServiceEntry declares host 'other.example', so this DestinationRule is ignored; declared hosts: ${CALC}`,
      ],
    );
    assert.deepEqual(snapshot.routeConfigs.get(`${CALC}_9090`)?.localRateLimit, { tokenBucket: { maxTokens: 10, tokensPerFill: 10, fillIntervalMs: 60_000 }, conditions: [] });
  });

  it('translates globalRateLimit and rejects a fill interval Envoy would refuse', () => {
    const snapshot = parse(`${SERVICE}---
${router(`    - route:\n        - destination: {host: ${CALC}}\n`)}  globalRateLimit:
    domain: calc
    match: {attributes: {method: {exact: add}}}
    requestTimeout: 50ms
    denyOnFail: true
    rateLimitService: outbound|8081||rls.svc
    descriptors: [{property: User-Id, descriptorKey: user}]
`);
    assert.deepEqual(snapshot.routeConfigs.get(`${CALC}_9090`)?.globalRateLimit, {
      match: [{ name: 'method', kind: 'exact', value: 'add' }],
      domain: 'calc',
      requestTimeoutMs: 50,
      denyOnFail: true,
      rateLimitService: 'outbound|8081||rls.svc',
      descriptors: [{ property: 'user-id', descriptorKey: 'user' }],
    });
    assert.throws(
      () => parse(`${SERVICE}---
${router(`    - route:\n        - destination: {host: ${CALC}}\n`)}  localRateLimit:
    tokenBucket: {maxTokens: 10, fillInterval: 10ms}
`),
      /localRateLimit\.tokenBucket\.fillInterval: is 10ms; Envoy requires at least 50ms/,
    );
  });

  it('warns when a subset selects no endpoint', () => {
    const snapshot = parse(SERVICE.replace('    - name: v2\n      labels: {version: v2}', '    - name: v2\n      labels: {version: v9}'));
    assert.deepEqual(snapshot.clusters.get(`outbound|9090|v2|${CALC}`)?.endpoints, []);
    assert.match(snapshot.warnings.join('\n'), /spec\.subsets\[1\]\.labels: subset 'v2' selects no endpoint of host/);
  });

  it('ignores an empty document and a trailing separator', () => {
    const snapshot = parse(`---\n${SERVICE}---\n`);
    assert.equal(snapshot.services.size, 2);
    assert.deepEqual(snapshot.warnings, []);
  });
});
