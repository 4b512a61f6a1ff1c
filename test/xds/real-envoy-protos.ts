// The real Envoy protos (shipped in @grpc/grpc-js-xds/deps), loaded with the
// same proto-loader options as meta-mesh's subset: the independent reference
// for wire-compatibility tests and for the reference xDS server.
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { PROTO_LOADER_OPTIONS } from '../../lib/xds/xds-protos';
import { defined } from '../support/defined';

const DEPS = path.dirname(require.resolve('@grpc/grpc-js-xds/package.json')) + '/deps';
const FIXTURES = path.resolve(__dirname, '../../../test/xds/fixtures');

export interface RealCodec {
  encode(message: object): Buffer;
  decode(bytes: Buffer): Record<string, unknown>;
}

export interface RealEnvoy {
  readonly codecs: Record<
    'RouteConfiguration' | 'Cluster' | 'ClusterLoadAssignment' | 'UpstreamTlsContext' | 'HttpProtocolOptions' | 'TcpProtocolOptions' | 'DiscoveryRequest' | 'DiscoveryResponse' | 'DeltaDiscoveryRequest' | 'DeltaDiscoveryResponse',
    RealCodec
  >;
  readonly ads: grpc.ServiceDefinition;
  readonly rds: grpc.ServiceDefinition;
}

let loaded: RealEnvoy | undefined;

export function realEnvoy(): RealEnvoy {
  if (loaded !== undefined) return loaded;
  const def = protoLoader.loadSync(
    ['real-envoy-codec.proto', 'envoy/service/discovery/v3/ads.proto', 'envoy/service/route/v3/rds.proto'],
    { ...PROTO_LOADER_OPTIONS, includeDirs: [FIXTURES, ...['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => path.join(DEPS, d))] },
  );
  const svc = def['meta_mesh.test.v1.RealEnvoyCodec'] as protoLoader.ServiceDefinition;
  const codec = (m: string): RealCodec => {
    const method = defined(svc[m], `method ${m}`);
    return {
      encode: (o) => method.requestSerialize(o),
      decode: (b) => method.requestDeserialize(b) as Record<string, unknown>,
    };
  };
  loaded = {
    codecs: {
      RouteConfiguration: codec('RouteConfiguration'),
      Cluster: codec('Cluster'),
      ClusterLoadAssignment: codec('ClusterLoadAssignment'),
      UpstreamTlsContext: codec('UpstreamTlsContext'),
      HttpProtocolOptions: codec('HttpProtocolOptions'),
      TcpProtocolOptions: codec('TcpProtocolOptions'),
      DiscoveryRequest: codec('DiscoveryRequest'),
      DiscoveryResponse: codec('DiscoveryResponse'),
      DeltaDiscoveryRequest: codec('DeltaDiscoveryRequest'),
      DeltaDiscoveryResponse: codec('DeltaDiscoveryResponse'),
    },
    ads: def['envoy.service.discovery.v3.AggregatedDiscoveryService'] as unknown as grpc.ServiceDefinition,
    rds: def['envoy.service.route.v3.RouteDiscoveryService'] as unknown as grpc.ServiceDefinition,
  };
  return loaded;
}
