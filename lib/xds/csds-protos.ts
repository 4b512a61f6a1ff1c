// Loads meta-mesh's CSDS subset (envoy-csds.proto) once per process: the
// ClientStatusDiscoveryService definition the admin port serves and the
// client constructor `meta-mesh dump --admin` calls it with.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { PROTO_LOADER_OPTIONS, protoDir } from './xds-protos';

export const CSDS_SERVICE = 'envoy.service.status.v3.ClientStatusDiscoveryService';

export interface CsdsProtos {
  readonly service: grpc.ServiceDefinition;
  readonly Client: grpc.ServiceClientConstructor;
}

let loaded: CsdsProtos | undefined;

export function csdsProtos(): CsdsProtos {
  if (loaded !== undefined) return loaded;
  const definition = protoLoader.loadSync(['envoy-csds.proto'], { ...PROTO_LOADER_OPTIONS, includeDirs: [protoDir()] });
  let at: unknown = grpc.loadPackageDefinition(definition);
  for (const part of CSDS_SERVICE.split('.')) at = (at as Record<string, unknown>)[part];
  const Client = at as grpc.ServiceClientConstructor;
  loaded = { service: Client.service, Client };
  return loaded;
}
