// Joins checked manifests into one immutable Snapshot: services and clusters
// from the ServiceCatalog, one route config per service port, its routes from
// the MetaRouter for that host or, when it has none (no MetaRouter, or one with
// only rate limits), Aeraki's single route `default` to the whole service.

import { Diagnostics } from './diagnostics';
import { isWildcardHost, mostSpecificHost, resolveHostName } from './host-name';
import type { FieldPath } from './manifest-document';
import { Manifest, MetaRouterSpec, Manifests } from './manifest-types';
import { MetaRouterRoutes } from './meta-router-routes';
import { ClusterConfig, Route, RouteConfig, Service, Snapshot, clusterName, serviceKey } from './model';
import { ServiceCatalog } from './service-catalog';
import { securityPoliciesOf } from './security-policies';
import { buildRedisConfig } from './redis-policies';

export function buildSnapshot(manifests: Manifests, diagnostics: Diagnostics, version: string, secretDir: string): Snapshot {
  const catalog = new ServiceCatalog(manifests.serviceEntries, manifests.destinationRules, manifests.workloadEntries);
  const routers = routersByHost(manifests.metaRouters, catalog);

  const services = new Map<string, Service>();
  const routeConfigs = new Map<string, RouteConfig>();
  for (const service of catalog.services()) {
    services.set(serviceKey(service.host, service.port), service);
    const router = routers.get(service.host);
    const routes = router?.hasRoutes === true ? router.forPort(service.host, service.port) : [defaultRoute(service, catalog)];
    const local = router?.localRateLimit;
    const global = router?.globalRateLimit;
    routeConfigs.set(
      service.routeConfigName,
      Object.freeze({
        name: service.routeConfigName,
        routes,
        ...(local === undefined ? {} : { localRateLimit: local }),
        ...(global === undefined ? {} : { globalRateLimit: global }),
      }),
    );
  }
  const clusters = new Map<string, ClusterConfig>();
  for (const c of catalog.clusters()) clusters.set(c.name, c);

  const security = securityPoliciesOf(manifests.peerAuthentications, manifests.authorizationPolicies, manifests.dubboAuthorizationPolicies);
  const redis = buildRedisConfig(manifests, [...services.values()], secretDir);
  return Object.freeze({ version, services, clusters, routeConfigs, security, redis, warnings: Object.freeze([...diagnostics.warnings]) });
}

/**
 * Aeraki uses the first MetaRouter found for a host; two are ambiguous, so that is a problem here.
 * Hosts resolve as in Istio: short names in the router's namespace; a `*.suffix` host covers the
 * declared hosts under it that no exact host of another router names (the most specific wins).
 */
function routersByHost(routers: readonly Manifest<MetaRouterSpec>[], catalog: ServiceCatalog): Map<string, MetaRouterRoutes> {
  const byHost = new Map<string, MetaRouterRoutes>();
  const wildcards: { pattern: string; routes: MetaRouterRoutes; path: FieldPath }[] = [];
  for (const router of routers) {
    const routes = new MetaRouterRoutes(router, catalog);
    (router.spec.hosts ?? []).forEach((written, i) => {
      if (written === undefined) return;
      const host = resolveHostName(written, router.namespace);
      const path = ['spec', 'hosts', i];
      const as = host === written ? `'${host}'` : `'${written}' (${host})`;
      const first = byHost.get(host) ?? wildcards.find((w) => w.pattern === host)?.routes;
      if (first !== undefined) {
        router.doc.problem(
          path,
          `host ${as} is already routed by ${first.router.doc.label} at ${first.router.doc.where(['spec', 'hosts'])}; put all routes for a host in one MetaRouter`,
        );
      } else if (isWildcardHost(host)) {
        wildcards.push({ pattern: host, routes, path });
      } else if (!catalog.has(host)) {
        router.doc.warn(path, `no ServiceEntry declares host ${as}, so these routes are not used; declare it in a ServiceEntry`);
      } else {
        byHost.set(host, routes);
      }
    });
  }
  for (const w of wildcards) {
    const covered = catalog.hostNames().filter((h) => !byHost.has(h) && mostSpecificHost(wildcards.map((x) => x.pattern), h) === w.pattern);
    if (covered.length === 0) w.routes.router.doc.warn(w.path, `'${w.pattern}' covers no ServiceEntry host that a more specific MetaRouter host does not, so these routes are not used`);
    for (const h of covered) byHost.set(h, w.routes);
  }
  return byHost;
}

/** A host with no MetaRouter: every call goes to the whole service. */
function defaultRoute(service: Service, catalog: ServiceCatalog): Route {
  const hashKey = catalog.hashKey(service.host, '');
  return Object.freeze({
    name: 'default',
    match: Object.freeze([]),
    clusters: Object.freeze([Object.freeze({ cluster: clusterName(service.host, service.port), weight: 1 })]),
    hashPolicy: Object.freeze(hashKey === undefined ? [] : [hashKey]),
    mirrors: Object.freeze([]),
    requestMutation: Object.freeze([]),
    responseMutation: Object.freeze([]),
  });
}
