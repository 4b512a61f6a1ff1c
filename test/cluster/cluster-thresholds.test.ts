// Cluster thresholds cap concurrency per cluster as Envoy's circuit breakers do.
import assert from 'node:assert/strict';
import { MeshError, parseConfig } from 'meta-mesh';
import { ClusterThresholds, ENVOY_DEFAULT_THRESHOLDS, thresholdOverflowError } from '../../lib/cluster/cluster-thresholds';

const cluster = 'outbound|9090||calc.svc';

describe('ClusterThresholds', () => {
  it('defaults to Envoy’s 1024 connections, pending and requests and 3 retries', () => {
    assert.deepEqual(new ClusterThresholds(cluster).limits, { maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3 });
    assert.deepEqual(ENVOY_DEFAULT_THRESHOLDS, new ClusterThresholds(cluster).limits);
  });

  it('reads the DestinationRule connectionPool fields, 0 meaning unset as in Istio', () => {
    const snapshot = parseConfig([
      {
        file: 'calc.yaml',
        text: `apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: calc}
spec:
  hosts: [calc.svc]
  ports: [{number: 9090, name: tcp-metaprotocol-thrift}]
  resolution: STATIC
  endpoints: [{address: 10.0.0.1}]
---
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: calc}
spec:
  host: calc.svc
  trafficPolicy:
    connectionPool:
      tcp: {maxConnections: 10}
      http: {http1MaxPendingRequests: 0, http2MaxRequests: 20, maxRetries: 5}
`,
      },
    ]);
    const t = new ClusterThresholds(cluster, snapshot.clusters.get(cluster)!.thresholds);
    assert.deepEqual(t.limits, { maxConnections: 10, maxPendingRequests: 1024, maxRequests: 20, maxRetries: 5 });
  });

  it('refuses a request past maxRequests until one is released', () => {
    const t = new ClusterThresholds(cluster, { maxRequests: 2 });
    assert.equal(t.tryAcquireRequest(), true);
    assert.equal(t.tryAcquireRequest(), true);
    assert.equal(t.tryAcquireRequest(), false);
    assert.equal(t.activeRequests, 2);
    t.releaseRequest();
    assert.equal(t.tryAcquireRequest(), true);
    assert.equal(t.stats.overflows.requests, 1);
  });

  it('keeps each threshold apart', () => {
    const t = new ClusterThresholds(cluster, { maxConnections: 1, maxPendingRequests: 1, maxRetries: 1 });
    assert.equal(t.tryAcquireConnection(), true);
    assert.equal(t.tryAcquireConnection(), false);
    assert.equal(t.tryAcquirePending(), true);
    assert.equal(t.tryAcquirePending(), false);
    assert.equal(t.tryAcquireRetry(), true);
    assert.equal(t.tryAcquireRetry(), false);
    t.releaseConnection();
    t.releasePending();
    t.releaseRetry();
    t.releaseRetry(); // an extra release never drives a count below zero
    assert.deepEqual(t.stats, {
      activeConnections: 0,
      pendingRequests: 0,
      activeRequests: 0,
      activeRetries: 0,
      overflows: { connections: 1, pending: 1, requests: 0, retries: 1 },
    });
    assert.equal(t.tryAcquireRetry(), true);
    assert.equal(t.tryAcquireRetry(), false);
  });

  it('builds an OVERFLOW error naming the threshold and the DestinationRule field to raise', () => {
    const t = new ClusterThresholds(cluster, { maxRequests: 7 });
    const e = t.overflowError('requests');
    assert.equal(e.code, 'OVERFLOW');
    assert.match(e.message, /outbound\|9090\|\|calc\.svc already has 7 requests in flight/);
    assert.match(e.message, /max_requests/);
    assert.match(e.message, /raise trafficPolicy\.connectionPool\.http\.http2MaxRequests/);
    assert.equal(e.details.limit, 7);
    assert.match(thresholdOverflowError(cluster, 'pending', 3).message, /http1MaxPendingRequests/);
    assert.match(thresholdOverflowError(cluster, 'connections', 3).message, /tcp\.maxConnections/);
    assert.match(thresholdOverflowError(cluster, 'retries', 3).message, /http\.maxRetries/);
  });

  it('rejects a negative or fractional limit with a CONFIG error', () => {
    assert.throws(
      () => new ClusterThresholds(cluster, { maxConnections: -1 }),
      (e: unknown) => e instanceof MeshError && e.code === 'CONFIG' && /tcp\.maxConnections is -1/.test(e.message),
    );
    assert.throws(() => new ClusterThresholds(cluster, { maxRetries: 1.5 }), MeshError);
  });
});
