// Loads meta-mesh's own .proto subset (lib/xds/proto) once per process and
// hands out the two xDS services and a codec per resource type. The .proto
// files ship as source (tsc does not copy them), so they are found relative
// to this file in both layouts: lib/xds (source) and dist/lib/xds (built).
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import * as protobuf from 'protobufjs';
import { cpuNow, cpuSince, noteWork } from '../config/sliced-work';
import { MeshError, MeshErrorCode } from '../protocol';
import { plainDecoder, plainMessageReader } from './plain-decoder';
import type { AssignmentProtoReaders } from './assignment-reader';
import type { RouteProtoReader } from './route-config-reader';
import type {
  AnyResource,
  ClusterLoadAssignmentProto,
  ClusterProto,
  HttpProtocolOptionsProto,
  LbEndpointProto,
  LocalityLbEndpointsProto,
  RouteConfigurationProto,
  RouteProto,
  TcpProtocolOptionsProto,
  UpstreamTlsContextProto,
} from './envoy-types';
import { TYPE_CDS, TYPE_EDS, TYPE_RDS } from './type-urls';

/** Decoding options shared with the reference tests: names as in the .proto, 64-bit ints as strings, enums by name. */
export const PROTO_LOADER_OPTIONS: protoLoader.Options = Object.freeze({
  keepCase: true,
  longs: String,
  enums: String,
  defaults: false,
  oneofs: true,
});

const PROTO_FILES = ['envoy-discovery.proto', 'envoy-rds.proto', 'resource-codec.proto'] as const;

export interface ResourceCodec<T> {
  encode(resource: T): Buffer;
  decode(bytes: Buffer): T;
}

export interface XdsProtos {
  readonly ads: grpc.ServiceDefinition;
  readonly rds: grpc.ServiceDefinition;
  readonly AdsClient: grpc.ServiceClientConstructor;
  readonly RdsClient: grpc.ServiceClientConstructor;
  /** Reads one envoy.config.route.v3.Route embedded in a RouteConfiguration (see route-config-reader.ts). */
  readonly readRoute: RouteProtoReader;
  /** Read the parts of a ClusterLoadAssignment one at a time (see assignment-reader.ts). */
  readonly assignment: AssignmentProtoReaders;
  /** A CDS cluster's transport_socket typed_config (not a resource type of its own). */
  readonly upstreamTlsContext: ResourceCodec<UpstreamTlsContextProto>;
  /** The protocol options istiod puts in Cluster.typed_extension_protocol_options. */
  readonly httpProtocolOptions: ResourceCodec<HttpProtocolOptionsProto>;
  readonly tcpProtocolOptions: ResourceCodec<TcpProtocolOptionsProto>;
  readonly codecs: {
    readonly [TYPE_RDS]: ResourceCodec<RouteConfigurationProto>;
    readonly [TYPE_CDS]: ResourceCodec<ClusterProto>;
    readonly [TYPE_EDS]: ResourceCodec<ClusterLoadAssignmentProto>;
  };
}

let loaded: XdsProtos | undefined;

/** The directory holding meta-mesh's .proto files. */
export function protoDir(): string {
  const candidates = [path.join(__dirname, 'proto'), path.resolve(__dirname, '../../../lib/xds/proto')];
  for (const dir of candidates) if (fs.existsSync(path.join(dir, PROTO_FILES[0]))) return dir;
  throw new MeshError(
    MeshErrorCode.INTERNAL,
    `meta-mesh's xDS .proto files are missing (looked in ${candidates.join(', ')}); reinstall meta-mesh or publish lib/xds/proto with it`,
  );
}

export function xdsProtos(): XdsProtos {
  if (loaded !== undefined) return loaded;
  const definition = protoLoader.loadSync([...PROTO_FILES], { ...PROTO_LOADER_OPTIONS, includeDirs: [protoDir()] });
  const root = loadRoot(protoDir());
  decodeResponsesPlainly(definition, root);
  const pkg = grpc.loadPackageDefinition(definition);
  const codecService = definition['meta_mesh.xds.v1.ResourceCodec'] as protoLoader.ServiceDefinition;
  const codecs = root.lookupService('meta_mesh.xds.v1.ResourceCodec');
  // Decoding skips proto-loader's decode-then-toObject copy (see plain-decoder.ts)
  // but yields the same objects; encoding stays with proto-loader.
  const codec = <T>(method: string): ResourceCodec<T> => {
    const m = codecService[method];
    const type = codecs.methods[method]?.resolvedRequestType;
    if (m === undefined || type === null || type === undefined) {
      throw new MeshError(MeshErrorCode.INTERNAL, `meta-mesh's resource-codec.proto has no method ${method}; reinstall meta-mesh`);
    }
    const decode = plainDecoder<T>(type);
    return { encode: (r) => m.requestSerialize(r as object), decode };
  };
  const AdsClient = lookup(pkg, 'envoy.service.discovery.v3.AggregatedDiscoveryService');
  const RdsClient = lookup(pkg, 'envoy.service.route.v3.RouteDiscoveryService');
  loaded = {
    ads: AdsClient.service,
    rds: RdsClient.service,
    AdsClient,
    RdsClient,
    readRoute: plainMessageReader<RouteProto>(root.lookupType('envoy.config.route.v3.Route')),
    assignment: {
      group: plainMessageReader<LocalityLbEndpointsProto>(root.lookupType('envoy.config.endpoint.v3.LocalityLbEndpoints')),
      lbEndpoint: plainMessageReader<LbEndpointProto>(root.lookupType('envoy.config.endpoint.v3.LbEndpoint')),
    },
    upstreamTlsContext: codec<UpstreamTlsContextProto>('UpstreamTlsContext'),
    httpProtocolOptions: codec<HttpProtocolOptionsProto>('HttpProtocolOptions'),
    tcpProtocolOptions: codec<TcpProtocolOptionsProto>('TcpProtocolOptions'),
    codecs: {
      [TYPE_RDS]: codec<RouteConfigurationProto>('RouteConfiguration'),
      [TYPE_CDS]: codec<ClusterProto>('Cluster'),
      [TYPE_EDS]: codec<ClusterLoadAssignmentProto>('ClusterLoadAssignment'),
    },
  };
  return loaded;
}

/**
 * The client's side of the four xDS stream methods decodes each
 * (Delta)DiscoveryResponse with plainDecoder: grpc-js calls the deserializer
 * on the event loop for the whole message at once, and proto-loader's
 * decode-then-copy of a 3 MB response was one long step. The envelope is
 * small; each resource stays bytes (its own copy, so a kept resource does not
 * hold the whole message) until the sliced apply decodes it. The time it
 * takes is recorded with the steps of config work (noteWork).
 */
/** A request with every message field the client sets, so encoding it writes the encoders of all their types. */
const PRIMING_REQUEST = {
  version_info: '',
  node: { id: '', cluster: '', metadata: { fields: { k: { string_value: '' } } }, locality: { region: '' }, user_agent_name: '', user_agent_version: '' },
  resource_names: [''],
  resource_names_subscribe: [''],
  resource_names_unsubscribe: [''],
  initial_resource_versions: { '': '' },
  type_url: '',
  response_nonce: '',
  error_detail: { code: 0, message: '' },
};

function decodeResponsesPlainly(definition: protoLoader.PackageDefinition, root: protobuf.Root): void {
  const sotw = 'envoy.service.discovery.v3.DiscoveryResponse';
  const delta = 'envoy.service.discovery.v3.DeltaDiscoveryResponse';
  const methods: readonly [service: string, method: string, response: string][] = [
    ['envoy.service.discovery.v3.AggregatedDiscoveryService', 'StreamAggregatedResources', sotw],
    ['envoy.service.discovery.v3.AggregatedDiscoveryService', 'DeltaAggregatedResources', delta],
    ['envoy.service.route.v3.RouteDiscoveryService', 'StreamRoutes', sotw],
    ['envoy.service.route.v3.RouteDiscoveryService', 'DeltaRoutes', delta],
  ];
  for (const [service, method, response] of methods) {
    const m = (definition[service] as protoLoader.ServiceDefinition)[method];
    if (m === undefined) throw new Error(`${service}.${method} is missing from meta-mesh's .proto files`);
    // protobufjs writes a type's encoder the first time it encodes one (8-9 ms for these requests): do it now, with
    // the .proto files, rather than in the first subscription of a sync.
    m.requestSerialize(PRIMING_REQUEST);
    const decode = plainDecoder<object>(root.lookupType(response));
    const label = `xDS ${method} message decode`;
    (m as { responseDeserialize: (bytes: Buffer) => object }).responseDeserialize = (bytes) => {
      const start = performance.now();
      const cpu = cpuNow();
      const out = decode(bytes);
      noteWork(performance.now() - start, label, cpuSince(cpu));
      return out;
    };
  }
}

/** Packs a resource as the Any a DiscoveryResponse carries. */
export function packResource(typeUrl: keyof XdsProtos['codecs'], resource: object): AnyResource {
  const codec = xdsProtos().codecs[typeUrl] as ResourceCodec<object>;
  return { type_url: typeUrl, value: codec.encode(resource) };
}

/** The same protobufjs root proto-loader builds (its include-path resolution, keepCase), for plainDecoder. */
function loadRoot(dir: string): protobuf.Root {
  const root = new protobuf.Root();
  const resolveBundled = root.resolvePath;
  root.resolvePath = (origin, target) => {
    if (path.isAbsolute(target)) return target;
    const inDir = path.join(dir, target);
    return fs.existsSync(inDir) ? inDir : resolveBundled(origin, target);
  };
  root.loadSync([...PROTO_FILES], { keepCase: true });
  root.resolveAll();
  return root;
}

function lookup(pkg: grpc.GrpcObject, name: string): grpc.ServiceClientConstructor {
  let at: unknown = pkg;
  for (const part of name.split('.')) at = (at as Record<string, unknown>)[part];
  return at as grpc.ServiceClientConstructor;
}
