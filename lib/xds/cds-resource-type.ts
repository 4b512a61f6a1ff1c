// CDS Cluster: decoded whole (its EDS name and policies are read later) and
// checked against Envoy's validation rules. The model cluster is built by the
// client once the cluster's endpoints are known (cluster-from-xds.ts).
import { checkClusterFromXds } from './cluster-from-xds';
import type { ClusterProto } from './envoy-types';
import { TYPE_CDS } from './type-urls';
import type { XdsResourceType } from './xds-resource-type';
import { xdsProtos } from './xds-protos';

export const cdsResourceType: XdsResourceType<ClusterProto, true> = {
  typeUrl: TYPE_CDS,
  short: 'CDS',
  allResourcesRequiredInSotW: true,
  decode: (bytes) => {
    const raw = xdsProtos().codecs[TYPE_CDS].decode(bytes);
    return { name: raw.name ?? '', raw };
  },
  validate: (decoded) => {
    const raw = decoded.raw as ClusterProto;
    checkClusterFromXds(raw);
    return { raw, value: true };
  },
  decodeRaw: (bytes) => xdsProtos().codecs[TYPE_CDS].decode(bytes),
  nameOfRaw: (raw) => raw.name,
  fromRaw: (raw) => {
    checkClusterFromXds(raw);
    return true;
  },
};
