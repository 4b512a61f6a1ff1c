// XdsConfigSource: the mesh config from a live control plane. Routes come
// over MetaRDS (Aeraki), the clusters those routes name over ADS CDS, and the
// endpoints of EDS clusters over ADS EDS (istiod). Each time everything the
// routes need has an answer, one new Snapshot is handed to onSnapshot. A
// refused resource keeps its last good version; a control plane that goes
// away changes nothing until it returns.
import { performance } from 'node:perf_hooks';
import type { Cluster, RouteConfig, Service, Snapshot } from '../config/model';
import { serviceKey } from '../config/model';
import { MeshError, MeshErrorCode } from '../protocol';
import { checkAssignment, checkClusterFromXds, clusterFromXds, edsServiceName } from './cluster-from-xds';
import type { AnyResource, ClusterLoadAssignmentProto, ClusterProto, DiscoveryResponseProto, NodeProto, RouteConfigurationProto } from './envoy-types';
import { CachedTypes, readLastGood, writeLastGood } from './last-good-cache';
import { ResourceDump, ResourceStore } from './resource-store';
import { routeConfigFromXds } from './route-config-from-xds';
import { routeConfigFromBytes, routeConfigNameOf } from './route-config-reader';
import { TYPE_CDS, TYPE_EDS, TYPE_RDS, TYPE_SHORT, XdsTypeUrl } from './type-urls';
import { ResolvedXdsOptions, XdsOptions, resolveXdsOptions } from './xds-options';
import { xdsProtos } from './xds-protos';
import { XdsStream, XdsStreamState } from './xds-stream';

const DEFAULT_WAIT_MS = 30_000;
const DEFAULT_RESOURCE_TIMEOUT_MS = 15_000;

export interface XdsConfigSourceOptions extends XdsOptions {
  /** Monotonic clock in ms (default performance.now); injectable for tests. */
  clock?: () => number;
}

export interface XdsDump {
  readonly node: { readonly id: string; readonly cluster?: string };
  readonly snapshotVersion?: string;
  readonly servers: readonly XdsStreamState[];
  readonly resources: readonly (ResourceDump & { readonly typeUrl: string })[];
}

type Waiter = { readonly names: readonly string[]; readonly resolve: () => void };

export class XdsConfigSource {
  private readonly rds: XdsStream;
  private readonly ads: XdsStream;
  private readonly routes: ResourceStore<RouteConfigurationProto, RouteConfig>;
  private readonly clusters: ResourceStore<ClusterProto, true>;
  private readonly assignments: ResourceStore<ClusterLoadAssignmentProto, true>;
  /** Translated clusters, rebuilt only for names whose CDS or EDS resource changed. */
  private readonly models = new Map<string, Cluster>();
  private readonly staleModels = new Set<string>();
  private readonly clock: () => number;
  private readonly resourceTimeoutMs: number;
  private readonly wildcard: boolean;
  private rdsAnswered = false;
  private dirty = false;
  private closed = false;
  private emitted = 0;
  private current: Snapshot | undefined;
  private resourceTimer: NodeJS.Timeout | undefined;
  private waiters: Waiter[] = [];
  private firstConfig: { resolve: () => void; reject: (e: MeshError) => void } | undefined;
  private saving: Promise<void> = Promise.resolve();

  /** Connects and resolves once the first complete config was handed to onSnapshot. */
  static async start(options: XdsConfigSourceOptions, onSnapshot: (snapshot: Snapshot) => void): Promise<XdsConfigSource> {
    const source = new XdsConfigSource(options, resolveXdsOptions(options), onSnapshot);
    try {
      await source.run();
    } catch (err) {
      source.close();
      throw err;
    }
    return source;
  }

  private constructor(
    private readonly options: XdsConfigSourceOptions,
    private readonly resolved: ResolvedXdsOptions,
    private readonly onSnapshot: (snapshot: Snapshot) => void,
  ) {
    this.clock = options.clock ?? (() => performance.now());
    this.resourceTimeoutMs = options.resourceTimeoutMs ?? DEFAULT_RESOURCE_TIMEOUT_MS;
    this.routes = new ResourceStore(this.clock, (bytes) => xdsProtos().codecs[TYPE_RDS].decode(bytes));
    this.clusters = new ResourceStore(this.clock);
    this.assignments = new ResourceStore(this.clock);
    const initial = (options.services ?? []).map(toRouteConfigName);
    this.wildcard = initial.length === 0;
    this.routes.request(initial);
    const common = { credentials: resolved.credentials, security: resolved.security, node: resolved.node, backoff: options.backoff };
    this.rds = new XdsStream({
      ...common,
      kind: 'rds',
      target: resolved.rdsTarget,
      onResponse: (_t, r) => this.onRoutes(r),
      onState: (up, error) => this.onState(this.rds, up, error),
      onOpen: () => this.onOpen(this.rds),
    });
    this.ads = new XdsStream({
      ...common,
      kind: 'ads',
      target: resolved.adsTarget,
      onResponse: (t, r) => (t === TYPE_CDS ? this.onClusters(r) : t === TYPE_EDS ? this.onAssignments(r) : []),
      onState: (up, error) => this.onState(this.ads, up, error),
      onOpen: () => this.onOpen(this.ads),
    });
  }

  /** The latest snapshot handed out. */
  get snapshot(): Snapshot | undefined {
    return this.current;
  }

  get node(): NodeProto {
    return this.resolved.node;
  }

  /**
   * Asks for the routes of `host:port` (MetaRDS resource `<host>_<port>`) if
   * not asked for yet. Resolves when a snapshot holding them (or the news that
   * the control plane has none) was handed out; never rejects.
   */
  watchService(host: string, port: number): Promise<void> {
    const name = `${host}_${port}`;
    if (this.closed) return Promise.resolve();
    if (!this.wildcard && !this.routes.entries.has(name)) {
      this.routes.request([name]);
      this.rds.subscribe(TYPE_RDS, [...this.routes.entries.keys()]);
      this.armResourceTimer();
    }
    if (this.current !== undefined && this.routes.resolved(name) && this.pending().length === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ names: [name], resolve }));
  }

  /** Every resource with its version and ACK/NACK state, like Envoy's client status dump. */
  dump(): XdsDump {
    const tag = (typeUrl: string, list: ResourceDump[]) => list.map((r) => ({ typeUrl, ...r }));
    return {
      node: { id: this.resolved.node.id ?? '', ...(this.resolved.node.cluster ? { cluster: this.resolved.node.cluster } : {}) },
      ...(this.current === undefined ? {} : { snapshotVersion: this.current.version }),
      servers: [this.rds.state(), this.ads.state()],
      resources: [...tag(TYPE_RDS, this.routes.dump()), ...tag(TYPE_CDS, this.clusters.dump()), ...tag(TYPE_EDS, this.assignments.dump())],
    };
  }

  /** Closes both streams; the last snapshot stays with whoever holds it. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.resourceTimer !== undefined) clearTimeout(this.resourceTimer);
    this.rds.close();
    this.ads.close();
    for (const w of this.waiters) w.resolve();
    this.waiters = [];
  }

  private async run(): Promise<void> {
    const first = new Promise<void>((resolve, reject) => (this.firstConfig = { resolve, reject }));
    if (this.options.cacheFile !== undefined) {
      const cached = await readLastGood(this.options.cacheFile);
      if (cached !== undefined) this.loadCache(cached);
    }
    this.rds.subscribe(TYPE_RDS, this.wildcard ? undefined : [...this.routes.entries.keys()]);
    this.updateClusterNames();
    this.armResourceTimer();
    this.maybeEmit();
    const waitMs = this.options.waitForConfigMs ?? DEFAULT_WAIT_MS;
    const timer = setTimeout(() => this.failStart(MeshErrorCode.TIMEOUT, `no complete xDS config arrived within ${waitMs} ms`), waitMs);
    try {
      await first;
    } finally {
      clearTimeout(timer);
      this.firstConfig = undefined;
    }
  }

  private failStart(code: MeshErrorCode, why: string): void {
    const missing = this.pending();
    const servers = [this.rds.state(), this.ads.state()]
      .map((s) => `${s.kind === 'rds' ? 'MetaRDS' : 'ADS'} ${s.target} ${s.connected ? 'connected' : `not connected${s.lastError ? ` (${s.lastError})` : ''}`}`)
      .join('; ');
    const what = missing.length === 0 ? 'nothing is missing yet' : `still missing: ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ` and ${missing.length - 10} more` : ''}`;
    this.firstConfig?.reject(
      new MeshError(code, `${why}; ${what}; ${servers}. Check that the control plane is reachable and serves these resources, or raise xds.waitForConfigMs`, {
        details: { missing: missing.length },
      }),
    );
  }

  /**
   * gRPC's 15 s does-not-exist clock runs while a stream is open. It starts at
   * open, not at the first response, because a go-control-plane server (Aeraki)
   * never answers a request for names it does not have.
   */
  private onOpen(stream: XdsStream): void {
    if (stream === this.rds) this.routes.restartClock();
    else {
      this.clusters.restartClock();
      this.assignments.restartClock();
    }
    this.armResourceTimer();
  }

  private onState(stream: XdsStream, up: boolean, error?: string): void {
    if (!up && this.current === undefined && this.options.onControlPlaneDown === 'error') {
      this.failStart(MeshErrorCode.CONNECT_FAILURE, `the xDS server ${stream.target} cannot be reached (${error ?? 'stream closed'})`);
    }
  }

  private onRoutes(response: DiscoveryResponseProto): string[] {
    const version = response.version_info ?? '';
    const readRoute = xdsProtos().readRoute;
    const errors: string[] = [];
    this.rdsAnswered = true;
    for (const any of response.resources ?? []) {
      // The name first, so an unwanted or unchanged resource costs no decoding.
      const name = decode(any, TYPE_RDS, routeConfigNameOf, errors);
      if (name === undefined) continue;
      if (!this.wildcard && !this.routes.entries.has(name)) continue; // SotW servers may send more than asked
      const bytes = Buffer.from(any.value);
      if (this.routes.unchanged(name, bytes)) continue;
      try {
        // Only the bytes and the model are kept; a dump decodes the bytes again.
        this.routes.accept(name, undefined, bytes, routeConfigFromBytes(bytes, readRoute), version);
        this.dirty = true;
      } catch (err) {
        const message = err instanceof MeshError ? err.message : `${name}: a RouteConfiguration resource could not be decoded: ${(err as Error).message}`;
        this.routes.reject(name, message, version);
        errors.push(message);
      }
    }
    this.updateClusterNames();
    this.maybeEmit();
    return errors;
  }

  private onClusters(response: DiscoveryResponseProto): string[] {
    const version = response.version_info ?? '';
    const codec = xdsProtos().codecs[TYPE_CDS];
    const errors: string[] = [];
    const seen = new Set<string>();
    for (const any of response.resources ?? []) {
      const raw = decode(any, TYPE_CDS, codec.decode, errors);
      if (raw === undefined) continue;
      const name = raw.name ?? '';
      if (!this.clusters.entries.has(name)) continue;
      seen.add(name);
      const bytes = Buffer.from(any.value);
      if (this.clusters.unchanged(name, bytes)) continue;
      try {
        checkClusterFromXds(raw);
        this.clusters.accept(name, raw, bytes, true, version);
        this.staleModels.add(name);
        this.dirty = true;
      } catch (err) {
        this.clusters.reject(name, (err as Error).message, version);
        errors.push((err as Error).message);
      }
    }
    // State of the world: a cluster left out of a CDS response does not exist,
    // if the server knew it was wanted: it was received before, or asked for
    // in the stream's first CDS request. One asked for later (routes moved to
    // a new cluster) may be missing only because this response crossed that
    // request; it is left to the does-not-exist timer, as gRPC does.
    for (const [name, e] of this.clusters.entries) {
      if (!seen.has(name) && (e.value !== undefined || this.ads.serverKnowsOf(TYPE_CDS, name)) && this.clusters.absent(name)) {
        this.staleModels.add(name);
        this.dirty = true;
      }
    }
    this.updateAssignmentNames();
    this.maybeEmit();
    return errors;
  }

  private onAssignments(response: DiscoveryResponseProto): string[] {
    const version = response.version_info ?? '';
    const codec = xdsProtos().codecs[TYPE_EDS];
    const errors: string[] = [];
    for (const any of response.resources ?? []) {
      const raw = decode(any, TYPE_EDS, codec.decode, errors);
      if (raw === undefined) continue;
      const name = raw.cluster_name ?? '';
      if (!this.assignments.entries.has(name)) continue;
      const bytes = Buffer.from(any.value);
      if (this.assignments.unchanged(name, bytes)) continue;
      try {
        checkAssignment(raw);
        this.assignments.accept(name, raw, bytes, true, version);
        this.markClustersOf(name);
        this.dirty = true;
      } catch (err) {
        this.assignments.reject(name, (err as Error).message, version);
        errors.push((err as Error).message);
      }
    }
    this.maybeEmit();
    return errors;
  }

  /** CDS asks for exactly the clusters the routes in use name (targets and mirrors). */
  private updateClusterNames(): void {
    const names = new Set<string>();
    for (const e of this.routes.entries.values()) {
      for (const r of e.value?.routes ?? []) {
        for (const c of r.clusters) names.add(c.cluster);
        for (const m of r.mirrors) names.add(m.cluster);
      }
    }
    for (const name of this.clusters.entries.keys()) if (!names.has(name)) this.models.delete(name);
    this.clusters.retain(names);
    this.clusters.request(names);
    if (names.size > 0 || this.ads.names(TYPE_CDS) !== undefined) this.ads.subscribe(TYPE_CDS, [...names]);
    this.updateAssignmentNames();
    this.armResourceTimer();
  }

  /** EDS asks for the endpoints of every EDS cluster accepted. */
  private updateAssignmentNames(): void {
    const names = new Set<string>();
    for (const e of this.clusters.entries.values()) {
      const eds = e.raw === undefined ? undefined : edsServiceName(e.raw);
      if (eds !== undefined) names.add(eds);
    }
    this.assignments.retain(names);
    this.assignments.request(names);
    if (names.size > 0 || this.ads.names(TYPE_EDS) !== undefined) this.ads.subscribe(TYPE_EDS, [...names]);
    this.armResourceTimer();
  }

  private markClustersOf(edsName: string): void {
    for (const e of this.clusters.entries.values()) if (e.raw !== undefined && edsServiceName(e.raw) === edsName) this.staleModels.add(e.name);
  }

  /** What the next snapshot still waits for, in words. */
  private pending(): string[] {
    const out: string[] = [];
    if (this.wildcard && !this.rdsAnswered) out.push(`the route configurations of MetaRDS ${this.resolved.rdsTarget}`);
    for (const e of this.routes.entries.values()) if (e.status === 'REQUESTED') out.push(`route configuration ${e.name}`);
    for (const e of this.clusters.entries.values()) if (e.status === 'REQUESTED') out.push(`cluster ${e.name}`);
    for (const e of this.assignments.entries.values()) if (e.status === 'REQUESTED') out.push(`endpoints of ${e.name}`);
    return out;
  }

  private maybeEmit(): void {
    if (this.closed || !this.dirty || this.pending().length > 0) return;
    this.dirty = false;
    const snapshot = this.buildSnapshot();
    this.current = snapshot;
    try {
      this.onSnapshot(snapshot);
    } finally {
      this.firstConfig?.resolve();
      const waiters = this.waiters;
      this.waiters = [];
      for (const w of waiters) {
        if (w.names.every((n) => this.wildcard || this.routes.resolved(n))) w.resolve();
        else this.waiters.push(w);
      }
      this.saveCache();
    }
  }

  private buildSnapshot(): Snapshot {
    const warnings: string[] = [];
    const services = new Map<string, Service>();
    const routeConfigs = new Map<string, RouteConfig>();
    for (const e of this.routes.entries.values()) {
      this.warnAbout(TYPE_RDS, e, warnings);
      if (e.value === undefined) continue;
      routeConfigs.set(e.name, e.value);
      const service = serviceOf(e.name);
      if (service === undefined) warnings.push(`route configuration '${e.name}' is not named <host>_<port>, so no service uses it`);
      else services.set(serviceKey(service.host, service.port), service);
    }
    for (const name of this.staleModels) {
      const e = this.clusters.get(name);
      if (e?.raw === undefined) {
        this.models.delete(name);
        continue;
      }
      const eds = edsServiceName(e.raw);
      this.models.set(name, clusterFromXds(e.raw, eds === undefined ? undefined : this.assignments.get(eds)?.raw));
    }
    this.staleModels.clear();
    const clusters = new Map<string, Cluster>();
    for (const e of this.clusters.entries.values()) {
      this.warnAbout(TYPE_CDS, e, warnings);
      const model = this.models.get(e.name);
      if (model !== undefined) clusters.set(e.name, model);
    }
    for (const e of this.assignments.entries.values()) this.warnAbout(TYPE_EDS, e, warnings);
    return Object.freeze({ version: `xds-${++this.emitted}`, services, clusters, routeConfigs, warnings: Object.freeze(warnings) });
  }

  private warnAbout(typeUrl: XdsTypeUrl, e: { name: string; status: string; error?: { details: string; version: string }; value?: unknown }, out: string[]): void {
    const kind = TYPE_SHORT[typeUrl];
    if (e.status === 'NACKED' && e.error !== undefined) {
      const kept = e.value === undefined ? 'there is no earlier version to use' : 'the last good version stays in force';
      out.push(`xDS ${kind} ${e.name} version ${e.error.version} was refused (${e.error.details}); ${kept}`);
    } else if (e.status === 'DOES_NOT_EXIST') {
      out.push(`xDS ${kind} ${e.name} is not served by the control plane; calls that need it fail until it is`);
    }
  }

  private armResourceTimer(): void {
    if (this.closed || this.resourceTimer !== undefined || this.pending().length === 0) return;
    this.resourceTimer = setTimeout(() => {
      this.resourceTimer = undefined;
      this.expireMissing();
    }, this.resourceTimeoutMs);
    this.resourceTimer.unref();
  }

  /** Names requested on a working stream and not delivered in time are taken as absent (gRPC's ResourceTimer). */
  private expireMissing(): void {
    const deadline = this.clock() - this.resourceTimeoutMs;
    const rdsUp = this.rds.isOpen;
    const adsUp = this.ads.isOpen;
    const expire = (store: ResourceStore<unknown, unknown>, up: boolean): boolean => {
      let changed = false;
      if (!up) return false;
      for (const e of store.entries.values()) if (e.status === 'REQUESTED' && e.requestedAt <= deadline && store.absent(e.name)) changed = true;
      return changed;
    };
    const routesGone = expire(this.routes as ResourceStore<unknown, unknown>, rdsUp);
    const clustersGone = expire(this.clusters as ResourceStore<unknown, unknown>, adsUp);
    const edsGone = expire(this.assignments as ResourceStore<unknown, unknown>, adsUp);
    if (routesGone || clustersGone || edsGone) this.dirty = true;
    if (clustersGone) this.updateAssignmentNames();
    for (const e of this.assignments.entries.values()) if (e.status === 'DOES_NOT_EXIST') this.markClustersOf(e.name);
    this.maybeEmit();
    this.armResourceTimer();
  }

  private loadCache(cached: CachedTypes): void {
    const keep = (name: string) => this.wildcard || this.routes.entries.has(name);
    for (const raw of cached.routeConfigurations.resources) {
      if (raw.name === undefined || !keep(raw.name)) continue;
      try {
        this.routes.accept(raw.name, raw, undefined, routeConfigFromXds(raw), cached.routeConfigurations.version, true);
        this.dirty = true;
      } catch {
        // a cache written by another version that no longer passes the checks: ask the server instead
      }
    }
    if (this.wildcard && this.routes.entries.size > 0) this.rdsAnswered = true;
    for (const raw of cached.clusters.resources) {
      if (raw.name === undefined) continue;
      this.clusters.accept(raw.name, raw, undefined, true, cached.clusters.version, true);
      this.staleModels.add(raw.name);
    }
    for (const raw of cached.assignments.resources) {
      if (raw.cluster_name !== undefined) this.assignments.accept(raw.cluster_name, raw, undefined, true, cached.assignments.version, true);
    }
  }

  private saveCache(): void {
    const file = this.options.cacheFile;
    if (file === undefined) return;
    const collect = <R>(store: ResourceStore<R, unknown>) => {
      const resources: R[] = [];
      let version = '';
      for (const e of store.entries.values()) {
        const raw = store.rawOf(e);
        if (raw === undefined) continue;
        resources.push(raw);
        if (e.version !== undefined && e.version > version) version = e.version;
      }
      return { version, resources };
    };
    const types: CachedTypes = { routeConfigurations: collect(this.routes), clusters: collect(this.clusters), assignments: collect(this.assignments) };
    // One write at a time, in order; a failed write only loses the cold-start copy.
    this.saving = this.saving.then(() => writeLastGood(file, types)).catch(() => undefined);
  }

  /** @internal Resolves when pending cache writes are on disk (tests). */
  flushCache(): Promise<void> {
    return this.saving;
  }
}

function decode<T>(any: AnyResource, typeUrl: XdsTypeUrl, fn: (b: Buffer) => T, errors: string[]): T | undefined {
  if (any.type_url !== typeUrl) {
    errors.push(`a ${TYPE_SHORT[typeUrl]} response carried a resource of type ${any.type_url}; send ${typeUrl}`);
    return undefined;
  }
  try {
    return fn(Buffer.isBuffer(any.value) ? any.value : Buffer.from(any.value));
  } catch (err) {
    errors.push(`a ${TYPE_SHORT[typeUrl]} resource could not be decoded: ${(err as Error).message}`);
    return undefined;
  }
}

/** `host:port` or `host_port` → the MetaRDS resource name `host_port`. */
function toRouteConfigName(service: string): string {
  const colon = service.lastIndexOf(':');
  return colon > 0 && /^\d+$/.test(service.slice(colon + 1)) ? `${service.slice(0, colon)}_${service.slice(colon + 1)}` : service;
}

/** The service a MetaRDS name `<host>_<port>` stands for. */
function serviceOf(name: string): Service | undefined {
  const at = name.lastIndexOf('_');
  const port = Number(name.slice(at + 1));
  if (at <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535) return undefined;
  return Object.freeze({ host: name.slice(0, at), port, portName: '', protocol: '', routeConfigName: name });
}
