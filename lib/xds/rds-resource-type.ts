// MetaRDS RouteConfiguration: named from its bytes without decoding the
// routes, then read straight into the model (route-config-reader.ts). Only
// the bytes and the model are kept; a dump decodes the bytes again.
import type { RouteConfig } from '../config/model';
import { MeshError } from '../protocol';
import type { RouteConfigurationProto } from './envoy-types';
import { routeConfigFromXds } from './route-config-from-xds';
import { routeConfigNameOf, routeConfigStepsFromBytes } from './route-config-reader';
import { runNow, type Steps } from '../config/sliced-work';
import { TYPE_RDS } from './type-urls';
import type { XdsResourceType } from './xds-resource-type';
import { xdsProtos } from './xds-protos';

export const rdsResourceType: XdsResourceType<RouteConfigurationProto, RouteConfig> = {
  typeUrl: TYPE_RDS,
  short: 'RDS',
  allResourcesRequiredInSotW: false,
  decode: (bytes) => ({ name: routeConfigNameOf(bytes) }),
  validate: (decoded, bytes) => runNow(validateSteps(decoded.name, bytes)),
  validateSteps: (decoded, bytes) => validateSteps(decoded.name, bytes),
  decodeRaw: (bytes) => xdsProtos().codecs[TYPE_RDS].decode(bytes),
  nameOfRaw: (raw) => raw.name,
  fromRaw: (raw) => routeConfigFromXds(raw),
};

function* validateSteps(name: string, bytes: Buffer): Steps<{ raw: undefined; value: RouteConfig }> {
  try {
    return { raw: undefined, value: yield* routeConfigStepsFromBytes(bytes, xdsProtos().readRoute) };
  } catch (err) {
    // MeshError CONFIG already names the route; bytes that broke mid-way say which configuration.
    if (err instanceof MeshError) throw err;
    throw new Error(`${name}: a RouteConfiguration resource could not be decoded: ${(err as Error).message}`);
  }
}
