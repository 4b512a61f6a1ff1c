// Reads a MetaRDS RouteConfiguration from its bytes straight into the model
// RouteConfig, one route at a time: each Route is decoded and translated
// before the next is read. Decoding the whole configuration first kept
// 10,000 routes' worth of decoded objects alive until translation, and the
// garbage collector copying them was most of a large update's cost; read
// this way they die young. A route of the common shape skips the decoded
// objects altogether (route-common-shape.ts). The result and the errors are
// those of decoding in full and then calling routeConfigFromXds.
import type { Route, RouteConfig } from '../config/model';
import { runNow, type Steps } from '../config/sliced-work';
import type { RouteProto } from './envoy-types';
import { namedListOutline } from './named-list-outline';
import { WireReader } from './plain-decoder';
import { commonRouteFromWire, SharedParts } from './route-common-shape';
import { onlyVirtualHost, routeFromXdsAt } from './route-config-from-xds';

// Field number of envoy.config.route.v3.VirtualHost's routes (RouteConfiguration's
// name = 1 and virtual_hosts = 2 are read by namedListOutline).
const HOST_ROUTES = 3;
const LENGTH_DELIMITED = 2;
/** Routes read between two points where a read in slices may yield. */
const ROUTES_PER_STEP = 64;

/** Reads one envoy.config.route.v3.Route from the reader's position up to `end`. */
export type RouteProtoReader = (r: WireReader, end: number) => RouteProto;

/** The configuration's name, without decoding its routes; throws on malformed bytes. */
export function routeConfigNameOf(bytes: Buffer): string {
  return namedListOutline(bytes).name;
}

/** Decodes and translates `bytes`; throws MeshError CONFIG for a route the proxy could not run, RangeError/Error for bytes that are not a RouteConfiguration. */
export function routeConfigFromBytes(bytes: Buffer, readRoute: RouteProtoReader): RouteConfig {
  return runNow(routeConfigStepsFromBytes(bytes, readRoute));
}

/** routeConfigFromBytes in steps of ROUTES_PER_STEP routes, for runSliced. */
export function* routeConfigStepsFromBytes(bytes: Buffer, readRoute: RouteProtoReader): Steps<RouteConfig> {
  const { name, spans: hosts } = namedListOutline(bytes);
  const { start, end } = onlyVirtualHost(name, hosts);
  const r = new WireReader(bytes);
  r.pos = start;
  const routes: Route[] = [];
  const shared = new SharedParts();
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag >>> 3 === HOST_ROUTES && (tag & 7) === LENGTH_DELIMITED) {
      const stop = r.limit(r.uint32(), end);
      if (routes.length % ROUTES_PER_STEP === ROUTES_PER_STEP - 1) yield;
      routes.push(commonRouteFromWire(r, stop, shared) ?? routeFromXdsAt(name, routes.length, readRoute(r, stop)));
    } else {
      r.skip(tag & 7, end);
    }
  }
  return Object.freeze({ name, routes: Object.freeze(routes) });
}
