// DestinationRule policies travel over CDS: YAML → model → Envoy Cluster (as the
// local control plane serves it) → real Envoy protos on the wire → our decoder
// → model again, unchanged.
import assert from 'node:assert/strict';
import { parseConfig } from 'meta-mesh';
import { checkClusterFromXds, clusterFromXds } from '../../lib/xds/cluster-from-xds';
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
      tcp: {maxConnections: 50, idleTimeout: 30s}
      http: {http2MaxRequests: 200, http1MaxPendingRequests: 20, maxRetries: 4, idleTimeout: 90s}
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
    // http.idleTimeout wins over tcp.idleTimeout, in YAML mode and as istiod writes it.
    assert.equal(model.idleTimeoutMs, 90_000);
    assert.equal(back.idleTimeoutMs, 90_000);
  });

  describe('idle timeout where istiod and Envoy put it', () => {
    const real = () => realEnvoy().codecs;
    const base = { name: 'outbound|9090||calc.svc', type: 'EDS', eds_cluster_config: { eds_config: { ads: {} } } };
    const decode = (cluster: object): ClusterProto => xdsProtos().codecs[TYPE_CDS].decode(real().Cluster.encode(cluster)) as ClusterProto;
    const fromWire = (cluster: object) => clusterFromXds(decode(cluster), { cluster_name: base.name, endpoints: [] });
    const typed = (key: string, value: Buffer) => ({ [key]: { type_url: `type.googleapis.com/${key}`, value } });
    const HTTP = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
    const TCP = 'envoy.extensions.upstreams.tcp.v3.TcpProtocolOptions';

    it('reads typed_extension_protocol_options HttpProtocolOptions.common_http_protocol_options.idle_timeout (istiod)', () => {
      const options = real().HttpProtocolOptions.encode({ common_http_protocol_options: { idle_timeout: { seconds: 45, nanos: 500_000_000 } } });
      assert.equal(fromWire({ ...base, typed_extension_protocol_options: typed(HTTP, options) }).idleTimeoutMs, 45_500);
    });

    it("reads Envoy's TCP pool options and the deprecated common_http_protocol_options", () => {
      const tcp = real().TcpProtocolOptions.encode({ idle_timeout: { seconds: 12 } });
      assert.equal(fromWire({ ...base, typed_extension_protocol_options: typed(TCP, tcp) }).idleTimeoutMs, 12_000);
      assert.equal(fromWire({ ...base, common_http_protocol_options: { idle_timeout: { seconds: 7 } } }).idleTimeoutMs, 7_000);
    });

    it('leaves the default (one hour) when unset or 0, as YAML mode does', () => {
      assert.equal(fromWire(base).idleTimeoutMs, undefined);
      const zero = real().HttpProtocolOptions.encode({ common_http_protocol_options: { idle_timeout: { seconds: 0 } } });
      assert.equal(fromWire({ ...base, typed_extension_protocol_options: typed(HTTP, zero) }).idleTimeoutMs, undefined);
    });

    it('refuses (NACKs) options of the wrong type or that cannot be decoded, naming the field', () => {
      const wrong = { [HTTP]: { type_url: 'type.googleapis.com/google.protobuf.Duration', value: Buffer.alloc(0) } };
      assert.throws(() => checkClusterFromXds(decode({ ...base, typed_extension_protocol_options: wrong })), /typed_extension_protocol_options\["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"\] of type/);
      const garbage = typed(HTTP, Buffer.from([0x0a, 0xff, 0xff]));
      assert.throws(() => checkClusterFromXds(decode({ ...base, typed_extension_protocol_options: garbage })), /cannot be decoded/);
      const negative = real().HttpProtocolOptions.encode({ common_http_protocol_options: { idle_timeout: { seconds: -3 } } });
      assert.throws(() => checkClusterFromXds(decode({ ...base, typed_extension_protocol_options: typed(HTTP, negative) })), /idle_timeout is negative/);
    });
  });
});
