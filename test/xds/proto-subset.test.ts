// meta-mesh's own .proto subset is wire-compatible with the real Envoy protos:
// every message it uses, encoded by one side, decodes to the same value on the other.
import assert from 'node:assert/strict';
import type * as grpc from '@grpc/grpc-js';
import { TYPE_CDS, TYPE_EDS, TYPE_RDS } from '../../lib/xds/type-urls';
import { xdsProtos } from '../../lib/xds/xds-protos';
import { defined } from '../support/defined';
import { realEnvoy } from './real-envoy-protos';
import { sampleAssignment, sampleCluster, sampleRequest, sampleRouteConfiguration, withoutOneofMarkers } from './sample-resources';

/** A method of a gRPC service definition, failing the test when it is not there. */
const method = (service: grpc.ServiceDefinition, name: string): grpc.MethodDefinition<object, object> => defined(service[name], `method ${name}`);

describe('xds proto subset against the real Envoy protos', () => {
  const ours = () => xdsProtos().codecs;
  const real = () => realEnvoy().codecs;

  const cases = [
    { what: 'RouteConfiguration (every HeaderMatcher kind, weighted clusters, hash, mirror, mutations, timeout, retries)', type: TYPE_RDS, real: 'RouteConfiguration', sample: sampleRouteConfiguration },
    { what: 'Cluster (EDS config, lb policy, circuit breakers, outlier detection, ring hash, panic threshold, load assignment)', type: TYPE_CDS, real: 'Cluster', sample: sampleCluster },
    { what: 'ClusterLoadAssignment (locality, health, weights, priority, labels)', type: TYPE_EDS, real: 'ClusterLoadAssignment', sample: sampleAssignment },
  ] as const;

  for (const c of cases) {
    it(`decodes a real-encoded ${c.what} to the same value`, () => {
      const bytes = real()[c.real].encode(c.sample());
      assert.deepEqual(withoutOneofMarkers(ours()[c.type].decode(bytes)), c.sample());
    });
    it(`encodes ${c.real} so the real protos decode the same value`, () => {
      const bytes = ours()[c.type].encode(c.sample());
      assert.deepEqual(withoutOneofMarkers(real()[c.real].decode(bytes)), c.sample());
    });
  }

  it('speaks the same DiscoveryRequest both ways (node, names, nonce, NACK error_detail)', () => {
    const ads = method(xdsProtos().ads, 'StreamAggregatedResources');
    const fromReal = ads.requestDeserialize(real().DiscoveryRequest.encode(sampleRequest()));
    assert.deepEqual(withoutOneofMarkers(fromReal), sampleRequest());
    const fromOurs = real().DiscoveryRequest.decode(ads.requestSerialize(sampleRequest()));
    assert.deepEqual(withoutOneofMarkers(fromOurs), sampleRequest());
  });

  it('speaks the same DiscoveryResponse both ways, resources packed as Any', () => {
    const response = {
      version_info: '1700000001',
      resources: [{ type_url: TYPE_RDS, value: real().RouteConfiguration.encode(sampleRouteConfiguration()) }],
      type_url: TYPE_RDS,
      nonce: '42',
      control_plane: { identifier: 'aeraki' },
    };
    const rds = method(xdsProtos().rds, 'StreamRoutes');
    const fromReal = rds.responseDeserialize(real().DiscoveryResponse.encode(response)) as typeof response;
    assert.deepEqual(withoutOneofMarkers(fromReal), response);
    assert.deepEqual(withoutOneofMarkers(ours()[TYPE_RDS].decode(Buffer.from(defined(fromReal.resources[0], 'a resource').value))), sampleRouteConfiguration());
    const fromOurs = real().DiscoveryResponse.decode(rds.responseSerialize(response));
    assert.deepEqual(withoutOneofMarkers(fromOurs), response);
  });

  it('speaks the same DeltaDiscoveryRequest both ways (subscribe, unsubscribe, initial versions, NACK)', () => {
    const request = {
      node: sampleRequest().node,
      type_url: TYPE_CDS,
      resource_names_subscribe: ['a', 'b'],
      resource_names_unsubscribe: ['c'],
      initial_resource_versions: { a: 'v1', b: 'v2' },
      response_nonce: '7',
      error_detail: { code: 3, message: 'bad cluster' },
    };
    const ads = method(xdsProtos().ads, 'DeltaAggregatedResources');
    assert.deepEqual(withoutOneofMarkers(ads.requestDeserialize(real().DeltaDiscoveryRequest.encode(request))), request);
    assert.deepEqual(withoutOneofMarkers(real().DeltaDiscoveryRequest.decode(ads.requestSerialize(request))), request);
  });

  it('speaks the same DeltaDiscoveryResponse both ways (named, versioned resources, removals, ttl)', () => {
    const response = {
      system_version_info: '12',
      resources: [
        { name: 'calc_9090', version: 'r1', aliases: ['calc'], ttl: { seconds: '30', nanos: 0 }, resource: { type_url: TYPE_RDS, value: real().RouteConfiguration.encode(sampleRouteConfiguration()) } },
      ],
      type_url: TYPE_RDS,
      removed_resources: ['gone_9090'],
      nonce: '43',
      control_plane: { identifier: 'aeraki' },
    };
    const rds = method(xdsProtos().rds, 'DeltaRoutes');
    assert.deepEqual(withoutOneofMarkers(rds.responseDeserialize(real().DeltaDiscoveryResponse.encode(response))), response);
    assert.deepEqual(withoutOneofMarkers(real().DeltaDiscoveryResponse.decode(rds.responseSerialize(response))), response);
  });

  it('declares the same service paths as Envoy for MetaRDS and ADS', () => {
    assert.equal(method(xdsProtos().rds, 'DeltaRoutes').path, '/envoy.service.route.v3.RouteDiscoveryService/DeltaRoutes');
    assert.equal(method(xdsProtos().rds, 'DeltaRoutes').path, method(realEnvoy().rds, 'DeltaRoutes').path);
    assert.equal(method(xdsProtos().ads, 'DeltaAggregatedResources').path, method(realEnvoy().ads, 'DeltaAggregatedResources').path);
    assert.equal(method(xdsProtos().rds, 'StreamRoutes').path, method(realEnvoy().rds, 'StreamRoutes').path);
    assert.equal(method(xdsProtos().rds, 'StreamRoutes').path, '/envoy.service.route.v3.RouteDiscoveryService/StreamRoutes');
    assert.equal(method(xdsProtos().ads, 'StreamAggregatedResources').path, '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources');
    assert.equal(method(xdsProtos().ads, 'StreamAggregatedResources').path, method(realEnvoy().ads, 'StreamAggregatedResources').path);
  });
});
