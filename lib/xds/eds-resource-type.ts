// EDS ClusterLoadAssignment: named from its bytes without decoding its
// endpoints, then checked against Envoy's validation rules and read straight
// into the model endpoints a chunk at a time (assignment-reader.ts). Only the
// bytes and the endpoints are kept; a dump or the last-good cache decodes the
// bytes again. The client builds the clusters that use it from the endpoints.
import type { Endpoint } from '../config/model';
import { MeshError } from '../protocol';
import { assignmentNameOf, endpointStepsFromBytes } from './assignment-reader';
import { checkAssignment, endpointsFromXds } from './cluster-from-xds';
import type { ClusterLoadAssignmentProto } from './envoy-types';
import { runNow, type Steps } from '../config/sliced-work';
import { TYPE_EDS } from './type-urls';
import type { XdsResourceType } from './xds-resource-type';
import { xdsProtos } from './xds-protos';

export const edsResourceType: XdsResourceType<ClusterLoadAssignmentProto, readonly Endpoint[]> = {
  typeUrl: TYPE_EDS,
  short: 'EDS',
  allResourcesRequiredInSotW: false,
  decode: (bytes) => ({ name: assignmentNameOf(bytes) }),
  validate: (decoded, bytes) => runNow(validateSteps(decoded.name, bytes)),
  validateSteps: (decoded, bytes) => validateSteps(decoded.name, bytes),
  decodeRaw: (bytes) => xdsProtos().codecs[TYPE_EDS].decode(bytes),
  nameOfRaw: (raw) => raw.cluster_name,
  fromRaw: (raw) => {
    checkAssignment(raw, raw.cluster_name ?? '', true);
    return endpointsFromXds(raw);
  },
};

function* validateSteps(name: string, bytes: Buffer): Steps<{ raw: undefined; value: readonly Endpoint[] }> {
  try {
    return { raw: undefined, value: yield* endpointStepsFromBytes(bytes, xdsProtos().assignment) };
  } catch (err) {
    // MeshError CONFIG already names the endpoint; bytes that broke mid-way say which assignment.
    if (err instanceof MeshError) throw err;
    throw new Error(`${name}: a ClusterLoadAssignment resource could not be decoded: ${(err as Error).message}`);
  }
}
