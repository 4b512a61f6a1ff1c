// EDS ClusterLoadAssignment: decoded whole and checked against Envoy's
// validation rules; the client rebuilds the clusters that use it.
import { checkAssignment } from './cluster-from-xds';
import type { ClusterLoadAssignmentProto } from './envoy-types';
import { TYPE_EDS } from './type-urls';
import type { XdsResourceType } from './xds-resource-type';
import { xdsProtos } from './xds-protos';

export const edsResourceType: XdsResourceType<ClusterLoadAssignmentProto, true> = {
  typeUrl: TYPE_EDS,
  short: 'EDS',
  allResourcesRequiredInSotW: false,
  decode: (bytes) => {
    const raw = xdsProtos().codecs[TYPE_EDS].decode(bytes);
    return { name: raw.cluster_name ?? '', raw };
  },
  validate: (decoded) => {
    const raw = decoded.raw as ClusterLoadAssignmentProto;
    checkAssignment(raw, decoded.name, true);
    return { raw, value: true };
  },
  decodeRaw: (bytes) => xdsProtos().codecs[TYPE_EDS].decode(bytes),
  nameOfRaw: (raw) => raw.cluster_name,
  fromRaw: (raw) => {
    checkAssignment(raw, raw.cluster_name ?? '', true);
    return true;
  },
};
