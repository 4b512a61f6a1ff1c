// The routes of one MetaRouter. They are checked and compiled once, then
// resolved per service port, because a destination without a port takes the
// port of the route config it lands in (Aeraki: "port 0/absent ⇒ ServiceEntry port").

import { attributeMatchers } from './attribute-matchers';
import { didYouMean } from './did-you-mean';
import { isWildcardHost, resolveHostName } from './host-name';
import { FieldPath, ManifestDocument } from './manifest-document';
import { DestinationSpec, KeyValueSpec, Manifest, MetaRouteSpec, MetaRouterSpec } from './manifest-types';
import { FaultPolicy, MetadataMatcher, MirrorPolicy, RetryPolicy, Route, WeightedCluster, clusterName } from './model';
import { globalRateLimitOf, localRateLimitOf } from './rate-limit-policies';
import { ServiceCatalog } from './service-catalog';
import type { GlobalRateLimit, LocalRateLimit } from './model';

/** Istio's default retryOn, less retriable-status-codes (HTTP only). */
const DEFAULT_RETRY_ON = Object.freeze(['connect-failure', 'refused-stream', 'unavailable', 'cancelled']);

/** Envoy/Istio retry_on conditions, plus 'timeout' (a per-try deadline passed) and 'error' (an error reply). */
const RETRY_ON = [
  '5xx', 'gateway-error', 'reset', 'reset-before-request', 'connect-failure', 'envoy-ratelimited', 'retriable-4xx',
  'refused-stream', 'retriable-status-codes', 'retriable-headers', 'http3-post-connect-failure', 'cancelled',
  'deadline-exceeded', 'internal', 'resource-exhausted', 'unavailable', 'timeout', 'error',
];

interface DestinationRef {
  readonly host: string;
  readonly subset: string;
  /** undefined = the port of the route config being built. */
  readonly port?: number | undefined;
  readonly path: FieldPath;
}

interface RouteTemplate {
  readonly name: string;
  readonly match: readonly MetadataMatcher[];
  readonly destinations: readonly { readonly ref: DestinationRef; readonly weight: number }[];
  readonly mirror?: { readonly ref: DestinationRef; readonly fraction: number };
  readonly requestMutation: readonly (readonly [string, string])[];
  readonly responseMutation: readonly (readonly [string, string])[];
  readonly timeoutMs?: number;
  readonly retries?: RetryPolicy;
  readonly fault?: FaultPolicy;
}

export class MetaRouterRoutes {
  private readonly templates: RouteTemplate[] = [];
  private readonly byPort = new Map<number, readonly Route[]>();
  private readonly doc: ManifestDocument;
  readonly localRateLimit: LocalRateLimit | undefined;
  readonly globalRateLimit: GlobalRateLimit | undefined;

  constructor(
    readonly router: Manifest<MetaRouterSpec>,
    private readonly catalog: ServiceCatalog,
  ) {
    this.doc = router.doc;
    (router.spec.routes ?? []).forEach((r, i) => {
      if (r !== undefined) this.templates.push(this.compile(r, ['spec', 'routes', i]));
    });
    this.localRateLimit = localRateLimitOf(router.spec.localRateLimit, this.doc);
    this.globalRateLimit = globalRateLimitOf(router.spec.globalRateLimit, this.doc);
    // Aeraki's admission check rejects a MetaRouter with neither; with only rate limits it is valid
    // (its own global-rate-limit demo) and the hosts keep their default route.
    if ((router.spec.routes ?? []).length === 0 && router.spec.localRateLimit === undefined && router.spec.globalRateLimit === undefined) {
      this.doc.warn(['spec'], 'has no routes and no rate limits, so it changes nothing: its hosts keep the default route; add a route or a rate limit');
    }
  }

  /**
   * False for a MetaRouter without routes (rate limits only): as in Aeraki, its hosts keep the
   * default route to `outbound|<port>||<host>` and the router's rate limits still apply.
   */
  get hasRoutes(): boolean {
    return (this.router.spec.routes ?? []).length > 0;
  }

  /** The routes for the route config `<host>_<port>`, built once per port. */
  forPort(host: string, port: number): readonly Route[] {
    let routes = this.byPort.get(port);
    if (routes === undefined) {
      routes = Object.freeze(this.templates.map((t) => this.resolve(t, host, port)));
      this.byPort.set(port, routes);
    }
    return routes;
  }

  private compile(r: MetaRouteSpec, path: FieldPath): RouteTemplate {
    const doc = this.doc;
    const listed = r.route ?? [];
    if (r.route !== undefined && listed.length === 0) doc.problem([...path, 'route'], 'lists no destination; add at least one');
    const valid: { ref: DestinationRef; weight: number | undefined }[] = [];
    listed.forEach((d, i) => {
      const ref = d?.destination === undefined ? undefined : this.ref(d.destination, [...path, 'route', i, 'destination']);
      if (ref !== undefined) valid.push({ ref, weight: d?.weight });
    });
    const allAbsent = valid.every((d) => d.weight === undefined);
    const destinations = valid.map((d) => ({ ref: d.ref, weight: valid.length === 1 || allAbsent ? 1 : (d.weight ?? 0) }));
    if (valid.length > 1 && destinations.every((d) => d.weight === 0)) {
      doc.problem([...path, 'route'], 'weights add up to 0, so no destination can be picked; give at least one destination a weight above 0');
    }
    return {
      name: r.name ?? '',
      match: Object.freeze(attributeMatchers(r.match?.attributes, [...path, 'match', 'attributes'], doc)),
      destinations,
      ...this.mirror(r, path),
      requestMutation: mutations(r.requestMutation),
      responseMutation: mutations(r.responseMutation),
      // Istio: a timeout of 0 disables it.
      ...(r.timeout === undefined || r.timeout === 0 ? {} : { timeoutMs: r.timeout }),
      ...(r.retries === undefined ? {} : { retries: this.retries(r.retries, [...path, 'retries']) }),
      ...(r.fault === undefined ? {} : { fault: this.fault(r.fault, [...path, 'fault']) }),
    };
  }

  private mirror(r: MetaRouteSpec, path: FieldPath): { mirror?: NonNullable<RouteTemplate['mirror']> } {
    if (r.mirror === undefined) {
      if (r.mirrorPercentage !== undefined) this.doc.warn([...path, 'mirrorPercentage'], 'is ignored because the route has no mirror; add a mirror or remove it');
      return {};
    }
    const ref = this.ref(r.mirror, [...path, 'mirror']);
    if (ref === undefined) return {};
    const value = r.mirrorPercentage?.value;
    if (value === 0) {
      this.doc.warn([...path, 'mirrorPercentage', 'value'], 'is 0, which Aeraki treats as 100%: every call is mirrored; remove the mirror to stop mirroring');
    }
    return { mirror: { ref, fraction: value === undefined || value === 0 ? 1 : value / 100 } };
  }

  private retries(spec: NonNullable<MetaRouteSpec['retries']>, path: FieldPath): RetryPolicy {
    let retryOn: readonly string[] = DEFAULT_RETRY_ON;
    if (spec.retryOn !== undefined) {
      const tokens = spec.retryOn.split(',').map((t) => t.trim()).filter((t) => t !== '');
      for (const t of tokens) {
        if (RETRY_ON.includes(t) || /^\d{3}$/.test(t)) continue;
        const guess = didYouMean(t, RETRY_ON);
        const hint = guess === undefined ? '' : ` did you mean '${guess}'?`;
        this.doc.problem([...path, 'retryOn'], `unknown retry condition '${t}';${hint} allowed: ${RETRY_ON.join(', ')}`);
      }
      retryOn = Object.freeze(tokens);
    }
    const idempotent = spec.idempotentMethods?.filter((m): m is string => m !== undefined);
    return Object.freeze({
      attempts: spec.attempts ?? 0,
      perTryTimeoutMs: spec.perTryTimeout ?? 0,
      retryOn,
      ...(idempotent === undefined ? {} : { idempotentMethods: Object.freeze(idempotent) }),
    });
  }

  private fault(spec: NonNullable<MetaRouteSpec['fault']>, path: FieldPath): FaultPolicy {
    const fraction = (p: { value?: number } | undefined, at: FieldPath): number => {
      if (p?.value === undefined) {
        // Istio: with no percentage, no call gets the fault.
        this.doc.warn([...at, 'percentage'], 'is not set, so (as in Istio) no call gets this fault; set percentage.value, e.g. 100');
        return 0;
      }
      return p.value / 100;
    };
    const out: { delay?: NonNullable<FaultPolicy['delay']>; abort?: NonNullable<FaultPolicy['abort']> } = {};
    const { delay, abort } = spec;
    if (delay?.fixedDelay !== undefined) {
      out.delay = Object.freeze({ fraction: fraction(delay.percentage, [...path, 'delay']), delayMs: delay.fixedDelay });
    }
    if (abort?.errorCode !== undefined) {
      out.abort = Object.freeze({ fraction: fraction(abort.percentage, [...path, 'abort']), errorCode: abort.errorCode });
    }
    return Object.freeze(out);
  }

  /** Checks that a destination names a declared host, subset and port. */
  private ref(d: DestinationSpec, path: FieldPath): DestinationRef | undefined {
    if (d.host === undefined) return undefined;
    const { catalog, doc } = this;
    // Istio: a short name is a service in the router's namespace.
    const host = resolveHostName(d.host, this.router.namespace);
    if (isWildcardHost(host)) {
      doc.problem([...path, 'host'], `'${d.host}' is a wildcard; a destination names one service, e.g. one of: ${catalog.hostNames().join(', ') || 'none'}`);
      return undefined;
    }
    if (!catalog.has(host)) {
      const known = catalog.hostNames();
      const guess = didYouMean(host, known);
      const hint = guess === undefined ? '' : ` did you mean '${guess}'?`;
      const as = host === d.host ? `'${host}'` : `'${d.host}' (${host} in namespace ${this.router.namespace})`;
      doc.problem([...path, 'host'], `host ${as} is not declared by any ServiceEntry;${hint} declared hosts: ${known.join(', ') || 'none'}`);
      return undefined;
    }
    const subset = d.subset ?? '';
    if (subset !== '') {
      const subsets = catalog.subsets(host);
      if (subsets === undefined) {
        doc.problem([...path, 'subset'], `subset '${subset}' of host '${host}' is not declared: no DestinationRule has host '${host}'; add one with subset '${subset}'`);
        return undefined;
      }
      if (!subsets.includes(subset)) {
        const guess = didYouMean(subset, subsets);
        const hint = guess === undefined ? '' : ` did you mean '${guess}'?`;
        doc.problem(
          [...path, 'subset'],
          `subset '${subset}' of host '${host}' is not declared by its DestinationRule;${hint} declared subsets: ${subsets.join(', ') || 'none'}`,
        );
        return undefined;
      }
    }
    const port = d.port?.number === undefined || d.port.number === 0 ? undefined : d.port.number;
    if (port !== undefined && !catalog.ports(host).includes(port)) {
      doc.problem([...path, 'port', 'number'], `host '${host}' has no port ${port}; its ports: ${catalog.ports(host).join(', ')}`);
      return undefined;
    }
    return { host, subset, port, path };
  }

  private resolve(t: RouteTemplate, host: string, port: number): Route {
    const clusters: WeightedCluster[] = t.destinations.map((d) => Object.freeze({ cluster: this.cluster(d.ref, host, port), weight: d.weight }));
    const hashPolicy: string[] = [];
    for (const d of t.destinations) {
      const key = this.catalog.hashKey(d.ref.host, d.ref.subset);
      if (key !== undefined && !hashPolicy.includes(key)) hashPolicy.push(key);
    }
    const mirrors: MirrorPolicy[] =
      t.mirror === undefined ? [] : [Object.freeze({ cluster: this.cluster(t.mirror.ref, host, port), fraction: t.mirror.fraction })];
    return Object.freeze({
      name: t.name,
      match: t.match,
      clusters: Object.freeze(clusters),
      hashPolicy: Object.freeze(hashPolicy),
      mirrors: Object.freeze(mirrors),
      requestMutation: t.requestMutation,
      responseMutation: t.responseMutation,
      ...(t.timeoutMs === undefined ? {} : { timeoutMs: t.timeoutMs }),
      ...(t.retries === undefined ? {} : { retries: t.retries }),
      ...(t.fault === undefined ? {} : { fault: t.fault }),
    });
  }

  private cluster(ref: DestinationRef, routerHost: string, port: number): string {
    const p = ref.port ?? port;
    if (ref.port === undefined && !this.catalog.ports(ref.host).includes(p)) {
      this.doc.problem(
        ref.path,
        `host '${ref.host}' has no port ${p} (the port of route config ${routerHost}_${port}); set port.number to one of: ${this.catalog.ports(ref.host).join(', ')}`,
      );
    }
    return clusterName(ref.host, p, ref.subset);
  }
}

function mutations(list: readonly (KeyValueSpec | undefined)[] | undefined): readonly (readonly [string, string])[] {
  const out: (readonly [string, string])[] = [];
  for (const kv of list ?? []) if (kv?.key !== undefined) out.push(Object.freeze([kv.key, kv.value ?? ''] as const));
  return Object.freeze(out);
}
