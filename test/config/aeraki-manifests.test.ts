// Aeraki's own manifests as a new user brings them: route-less MetaRouters
// (rate limits only), short host names resolved as Istio does, wildcards,
// WorkloadEntries picked by a ServiceEntry's workloadSelector, and the hash
// key of a subset taken from the subset's own policy only (Aeraki's reading).

import assert from 'node:assert/strict';
import { CALC, SERVICE, parse, problem } from './manifests';
import { resolveHostName, hostMatches, mostSpecificHost } from '../../lib/config/host-name';
import { defined } from '../support/defined';

const THRIFT = 'thrift-sample-server.meta-thrift.svc.cluster.local';

const thriftService = (extra = '') => `apiVersion: networking.istio.io/v1alpha3
kind: ServiceEntry
metadata:
  name: thrift-sample-server
  namespace: meta-thrift
spec:
  hosts: [${THRIFT}]
  resolution: STATIC
  ports:
    - number: 9090
      name: tcp-metaprotocol-thrift-hello-server
${extra}`;

const endpoints = `  endpoints:
    - address: 127.0.0.1
      ports: {tcp-metaprotocol-thrift-hello-server: 9001}
      labels: {version: v1}
    - address: 127.0.0.2
      ports: {tcp-metaprotocol-thrift-hello-server: 9002}
      labels: {version: v2}
`;

describe('Aeraki manifests', () => {
  describe('a MetaRouter without routes', () => {
    it('gives its host the default route to outbound|<port>||<host> and still installs its global rate limit', () => {
      const snapshot = parse(`${thriftService(endpoints)}---
apiVersion: metaprotocol.aeraki.io/v1alpha1
kind: MetaRouter
metadata:
  name: test-metaprotocol-thrift-route
  namespace: meta-thrift
spec:
  hosts:
  - ${THRIFT}
  globalRateLimit:
    domain: production
    match:
      attributes:
        method:
          exact: sayHello
    rateLimitService: outbound|8081||rate-limit-server.meta-thrift.svc.cluster.local
    requestTimeout: 100ms
    denyOnFail: true
    descriptors:
    - property: method
      descriptorKey: method
`);
      const config = snapshot.routeConfigs.get(`${THRIFT}_9090`);
      assert.equal(config?.routes.length, 1);
      assert.equal(config?.routes[0]?.name, 'default');
      assert.deepEqual(config?.routes[0].match, []);
      assert.deepEqual(config?.routes[0]?.clusters, [{ cluster: `outbound|9090||${THRIFT}`, weight: 1 }]);
      assert.equal(config?.globalRateLimit?.domain, 'production');
      assert.equal(config?.globalRateLimit?.requestTimeoutMs, 100);
      assert.equal(config?.globalRateLimit?.denyOnFail, true);
      assert.deepEqual(config?.globalRateLimit?.descriptors, [{ property: 'method', descriptorKey: 'method' }]);
      assert.deepEqual(snapshot.warnings, []);
    });

    it('keeps a local rate limit on the default route too', () => {
      const snapshot = parse(`${thriftService(endpoints)}---
apiVersion: metaprotocol.aeraki.io/v1alpha1
kind: MetaRouter
metadata: {name: limit-only, namespace: meta-thrift}
spec:
  hosts: [${THRIFT}]
  localRateLimit:
    tokenBucket: {fillInterval: 60s, maxTokens: 5, tokensPerFill: 5}
`);
      const config = snapshot.routeConfigs.get(`${THRIFT}_9090`);
      assert.equal(config?.routes[0]?.name, 'default');
      assert.deepEqual(config?.localRateLimit?.tokenBucket, { maxTokens: 5, tokensPerFill: 5, fillIntervalMs: 60_000 });
    });

    it('warns when it has neither routes nor rate limits', () => {
      const snapshot = parse(`${thriftService(endpoints)}---
apiVersion: metaprotocol.aeraki.io/v1alpha1
kind: MetaRouter
metadata: {name: empty, namespace: meta-thrift}
spec:
  hosts: [${THRIFT}]
`);
      assert.equal(snapshot.routeConfigs.get(`${THRIFT}_9090`)?.routes[0]?.name, 'default');
      assert.equal(snapshot.warnings.length, 1);
      assert.match(defined(snapshot.warnings[0], 'a warning'), /has no routes and no rate limits/);
    });
  });

  describe('short host names', () => {
    it('resolves names as Istio does: short names in the namespace, default "default"; dotted names, IPs and * as written', () => {
      assert.equal(resolveHostName('thrift-sample-server', 'meta-thrift'), THRIFT);
      assert.equal(resolveHostName('reviews'), 'reviews.default.svc.cluster.local');
      assert.equal(resolveHostName('org.apache.dubbo.samples.basic.api.demoservice', 'x'), 'org.apache.dubbo.samples.basic.api.demoservice');
      assert.equal(resolveHostName('10.0.0.1', 'x'), '10.0.0.1');
      assert.equal(resolveHostName('::1', 'x'), '::1');
      assert.equal(resolveHostName('*', 'x'), '*');
      assert.equal(hostMatches('*.meta-thrift.svc.cluster.local', THRIFT), true);
      assert.equal(hostMatches('*.svc.cluster.local', 'svc.cluster.local'), false);
      assert.equal(mostSpecificHost(['*', '*.cluster.local', '*.meta-thrift.svc.cluster.local'], THRIFT), '*.meta-thrift.svc.cluster.local');
      assert.equal(mostSpecificHost(['*.cluster.local', THRIFT], THRIFT), THRIFT);
    });

    it('applies a DestinationRule, MetaRouter hosts and destinations written as short names in their namespace', () => {
      const snapshot = parse(`${thriftService(endpoints)}---
apiVersion: networking.istio.io/v1alpha3
kind: DestinationRule
metadata: {name: thrift-sample-server, namespace: meta-thrift}
spec:
  host: thrift-sample-server
  subsets:
    - {name: v1, labels: {version: v1}}
    - {name: v2, labels: {version: v2}}
---
apiVersion: metaprotocol.aeraki.io/v1alpha1
kind: MetaRouter
metadata: {name: route, namespace: meta-thrift}
spec:
  hosts: [thrift-sample-server]
  routes:
    - name: v2
      route:
        - destination: {host: thrift-sample-server, subset: v2}
`);
      assert.deepEqual(snapshot.warnings, []);
      assert.deepEqual(snapshot.routeConfigs.get(`${THRIFT}_9090`)?.routes[0]?.clusters, [{ cluster: `outbound|9090|v2|${THRIFT}`, weight: 1 }]);
      assert.deepEqual(
        snapshot.clusters.get(`outbound|9090|v2|${THRIFT}`)?.endpoints.map((e) => `${e.address}:${e.port}`),
        ['127.0.0.2:9002'],
      );
    });

    it('reads a short name in another namespace as a different host', () => {
      const p = problem(`${thriftService(endpoints)}---
apiVersion: metaprotocol.aeraki.io/v1alpha1
kind: MetaRouter
metadata: {name: route, namespace: other}
spec:
  hosts: [${THRIFT}]
  routes:
    - route:
        - destination: {host: thrift-sample-server}
`);
      assert.equal(p.field, 'spec.routes[0].route[0].destination.host');
      assert.match(p.message, /'thrift-sample-server' \(thrift-sample-server\.other\.svc\.cluster\.local in namespace other\) is not declared/);
    });

    it('applies the most specific wildcard DestinationRule and lets an exact one win', () => {
      const snapshot = parse(`${SERVICE}---
apiVersion: networking.istio.io/v1alpha3
kind: ServiceEntry
metadata: {name: other, namespace: demo}
spec:
  hosts: [other.demo.svc.cluster.local]
  resolution: STATIC
  ports: [{number: 9090, name: tcp-metaprotocol-thrift-x}]
  endpoints: [{address: 10.0.0.9}]
---
apiVersion: networking.istio.io/v1alpha3
kind: DestinationRule
metadata: {name: everything, namespace: demo}
spec:
  host: "*.svc.cluster.local"
  trafficPolicy: {loadBalancer: {simple: RANDOM}}
---
apiVersion: networking.istio.io/v1alpha3
kind: DestinationRule
metadata: {name: demo-ns, namespace: demo}
spec:
  host: "*.demo.svc.cluster.local"
  trafficPolicy: {loadBalancer: {simple: LEAST_REQUEST}}
`);
      // calc has its own exact rule (in SERVICE); other takes the most specific wildcard.
      assert.equal(snapshot.clusters.get(`outbound|9090||${CALC}`)?.lbPolicy, 'ROUND_ROBIN');
      assert.equal(snapshot.clusters.get('outbound|9090||other.demo.svc.cluster.local')?.lbPolicy, 'LEAST_REQUEST');
      assert.equal(snapshot.warnings.length, 1);
      assert.match(defined(snapshot.warnings[0], 'a warning'), /'\*\.svc\.cluster\.local' matches no ServiceEntry host/);
    });

    it('routes every host under a wildcard MetaRouter host that no exact host claims', () => {
      const snapshot = parse(`${SERVICE}---
apiVersion: metaprotocol.aeraki.io/v1alpha1
kind: MetaRouter
metadata: {name: all, namespace: demo}
spec:
  hosts: ["*.demo.svc.cluster.local"]
  routes:
    - name: to-v1
      route:
        - destination: {host: calc, subset: v1}
`);
      assert.equal(snapshot.routeConfigs.get(`${CALC}_9090`)?.routes[0]?.name, 'to-v1');
    });

    it('rejects a wildcard destination with a clear message', () => {
      const p = problem(`${SERVICE}---
apiVersion: metaprotocol.aeraki.io/v1alpha1
kind: MetaRouter
metadata: {name: all, namespace: demo}
spec:
  hosts: [calc]
  routes:
    - route:
        - destination: {host: "*.demo.svc.cluster.local"}
`);
      assert.match(p.message, /is a wildcard; a destination names one service/);
    });
  });

  describe('WorkloadEntry', () => {
    const selected = `${thriftService(`  workloadSelector:
    labels: {app: thrift-sample-server}
`)}---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: v1, namespace: meta-thrift}
spec:
  address: 127.0.0.1
  ports: {tcp-metaprotocol-thrift-hello-server: 9001}
  labels: {app: thrift-sample-server, version: v1}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: v2, namespace: meta-thrift}
spec:
  address: 127.0.0.2
  weight: 3
  labels: {app: thrift-sample-server, version: v2}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: elsewhere, namespace: other}
spec:
  address: 127.0.0.3
  labels: {app: thrift-sample-server}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: unrelated, namespace: meta-thrift}
spec:
  address: 127.0.0.4
  labels: {app: something-else}
`;

    it('gives a ServiceEntry the WorkloadEntries of its namespace that its workloadSelector selects', () => {
      const snapshot = parse(selected);
      assert.deepEqual(snapshot.warnings, []);
      const eps = snapshot.clusters.get(`outbound|9090||${THRIFT}`)?.endpoints;
      assert.deepEqual(
        eps?.map((e) => [e.address, e.port, e.weight, e.labels.version]),
        [
          ['127.0.0.1', 9001, 1, 'v1'],
          ['127.0.0.2', 9090, 3, 'v2'],
        ],
      );
    });

    it('warns that endpoints only Kubernetes knows need xds mode when the selector picks nothing', () => {
      const snapshot = parse(thriftService(`  workloadSelector:
    labels: {app: nobody}
`));
      assert.equal(snapshot.warnings.length, 1);
      assert.match(defined(snapshot.warnings[0], 'a warning'), /selects no WorkloadEntry in namespace 'meta-thrift'.*only xds mode/);
    });

    it('rejects endpoints and workloadSelector together, as Istio does', () => {
      const p = problem(thriftService(`${endpoints}  workloadSelector:
    labels: {app: x}
`));
      assert.equal(p.field, 'spec.workloadSelector');
    });
  });

  describe('consistent hash key of a subset', () => {
    it('comes from the subset policy only; a subset does not inherit the top-level consistentHash', () => {
      const snapshot = parse(`${thriftService(endpoints)}---
apiVersion: networking.istio.io/v1alpha3
kind: DestinationRule
metadata: {name: thrift-sample-server, namespace: meta-thrift}
spec:
  host: thrift-sample-server
  trafficPolicy:
    loadBalancer: {consistentHash: {httpHeaderName: method}}
  subsets:
    - {name: v1, labels: {version: v1}}
    - name: v2
      labels: {version: v2}
      trafficPolicy:
        loadBalancer: {consistentHash: {httpHeaderName: x-user}}
---
apiVersion: metaprotocol.aeraki.io/v1alpha1
kind: MetaRouter
metadata: {name: route, namespace: meta-thrift}
spec:
  hosts: [thrift-sample-server]
  routes:
    - name: v1
      match: {attributes: {method: {exact: a}}}
      route: [{destination: {host: thrift-sample-server, subset: v1}}]
    - name: v2
      match: {attributes: {method: {exact: b}}}
      route: [{destination: {host: thrift-sample-server, subset: v2}}]
    - name: whole
      route: [{destination: {host: thrift-sample-server}}]
`);
      const routes = snapshot.routeConfigs.get(`${THRIFT}_9090`)?.routes;
      assert.deepEqual(routes?.map((r) => [r.name, [...r.hashPolicy]]), [
        ['v1', []],
        ['v2', ['x-user']],
        ['whole', ['method']],
      ]);
      // The subset cluster still balances with the merged (top-level) ring hash, as Istio builds it.
      assert.equal(snapshot.clusters.get(`outbound|9090|v1|${THRIFT}`)?.lbPolicy, 'RING_HASH');
    });
  });
});
