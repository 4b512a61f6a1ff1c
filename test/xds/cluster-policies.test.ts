// DestinationRule policies travel over CDS: YAML → model → Envoy Cluster (as the
// local control plane serves it) → real Envoy protos on the wire → our decoder
// → model again, unchanged.
import assert from 'node:assert/strict';
import { parseConfig } from 'meta-mesh';
import { clusterFromXds } from '../../lib/xds/cluster-from-xds';
import { clusterToXds } from '../../lib/xds/resources-from-snapshot';
import { TYPE_CDS } from '../../lib/xds/type-urls';
import { xdsProtos } from '../../lib/xds/xds-protos';
import type { ClusterProto } from '../../lib/xds/envoy-types';
import { realEnvoy } from './real-envoy-protos';

const yaml = `apiVersion: networking.istio.io/v1beta1
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
    loadBalancer:
      consistentHash: {httpHeaderName: user, ringHash: {minimumRingSize: 2048}}
    connectionPool:
      tcp: {maxConnections: 50}
      http: {http2MaxRequests: 200, http1MaxPendingRequests: 20, maxRetries: 4}
    outlierDetection:
      consecutive5xxErrors: 3
      consecutiveGatewayErrors: 2
      interval: 5s
      baseEjectionTime: 45s
      maxEjectionPercent: 50
      minHealthPercent: 30
`;

describe('DestinationRule policies over CDS', () => {
  it('round-trips thresholds, outlier detection, ring size and panic threshold through the real Envoy Cluster proto', () => {
    const model = parseConfig([{ file: 'calc.yaml', text: yaml }]).clusters.get('outbound|9090||calc.svc')!;
    const wire = realEnvoy().codecs.Cluster.encode(clusterToXds(model));
    const decoded = xdsProtos().codecs[TYPE_CDS].decode(wire) as ClusterProto;
    const back = clusterFromXds(decoded, { cluster_name: model.name, endpoints: [] });
    assert.deepEqual(back.thresholds, { maxConnections: 50, maxPendingRequests: 20, maxRequests: 200, maxRetries: 4 });
    assert.deepEqual(back.outlierDetection, {
      consecutive5xxErrors: 3,
      consecutiveGatewayErrors: 2,
      interval: 5000,
      baseEjectionTime: 45000,
      maxEjectionPercent: 50,
    });
    assert.deepEqual(back.lb, { ringHash: { minimumRingSize: 2048 }, healthyPanicThreshold: 30 });
    assert.equal(back.lbPolicy, 'RING_HASH');
  });
});
