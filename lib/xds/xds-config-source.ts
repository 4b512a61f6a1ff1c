// XdsConfigSource: the mesh config from a live control plane. Routes come
// over MetaRDS (Aeraki), the clusters those routes name over ADS CDS, and the
// endpoints of EDS clusters over ADS EDS (istiod). Each time everything the
// routes need has an answer, one new Snapshot is handed to onSnapshot. A
// refused resource keeps its last good version; a control plane that goes
// away changes nothing until it returns. Responses are applied one at a time
// in arrival order, each in slices that give the event loop a turn every few
// milliseconds (sliced-work.ts), and ACKed once the snapshot they make is applied.
import { performance } from 'node:perf_hooks';
import type { ClusterConfig, Endpoint, RouteConfig, Service, Snapshot } from '../config/model';
import { serviceKey } from '../config/model';
import { SLICE_MS, cpuNow, cpuSince, noteWork, runNow, runSliced, type Steps } from '../config/sliced-work';
import { MeshError, MeshErrorCode } from '../protocol';
import { applyDeltaResponse } from './apply-delta-response';
import { type ApplyResult, applyResponse } from './apply-response';
import { cdsResourceType } from './cds-resource-type';
import { clusterFromXdsEndpoints, edsServiceName } from './cluster-from-xds';
import { edsResourceType } from './eds-resource-type';
import type {
  ClusterLoadAssignmentProto,
  ClusterProto,
  DeltaDiscoveryResponseProto,
  DiscoveryResponseProto,
  NodeProto,
  RouteConfigurationProto,
} from './envoy-types';
import { CachedTypes, type CacheList, type CacheLists, lastGoodSteps, readLastGood, writeLastGoodText } from './last-good-cache';
import type { InboundListenerModel } from '../config/security-model';
import { ISTIO_INBOUND_LISTENER_PREFIX } from './inbound-listener-xds';
import { type ListenerProto, type ListenerValue, createLdsResourceType } from './lds-resource-type';
import { rdsResourceType } from './rds-resource-type';
import { ResourceDump, ResourceStore } from './resource-store';
import { TYPE_CDS, TYPE_EDS, TYPE_LDS, TYPE_RDS, XdsTypeUrl } from './type-urls';
import { ResolvedXdsOptions, XdsOptions, resolveXdsOptions } from './xds-options';
import type { XdsResourceType } from './xds-resource-type';
import { XdsStream, XdsStreamState } from './xds-stream';

const DEFAULT_WAIT_MS = 30_000;
const DEFAULT_RESOURCE_TIMEOUT_MS = 15_000;
/** Routes read between two points where collecting the clusters they name may yield. */
const ROUTES_PER_NAMES_STEP = 1024;

export interface XdsConfigSourceOptions extends XdsOptions {
  /** Monotonic clock in ms (default performance.now); injectable for tests. */
  clock?: (() => number) | undefined;
}

export interface XdsDump {
  readonly node: { readonly id: string; readonly cluster?: string };
  readonly snapshotVersion?: string;
  readonly servers: readonly XdsStreamState[];
  readonly resources: readonly (ResourceDump & { readonly typeUrl: string })[];
}

type Waiter = { readonly names: readonly string[]; readonly resolve: () => void };

/**
 * One resource type the client watches: its handler, its state, the stream
 * it comes on, and what the client does once a response of it was applied.
 * A new type (LDS) is one more TypeWatch registered in the constructor.
 */
interface TypeWatch<Raw, Value> {
  readonly type: XdsResourceType<Raw, Value>;
  readonly store: ResourceStore<Raw, Value>;
  readonly stream: XdsStream;
  /** Whether a resource of this name is wanted (a server may send more than asked). */
  wanted(name: string): boolean;
  /** Follows up an applied response: dependent subscriptions, models to rebuild. */
  applied(changed: readonly string[], removed: readonly string[]): void;
  /** applied() in steps, for a type whose follow-up reads a lot (every route, for RDS). */
  appliedSteps?(changed: readonly string[], removed: readonly string[]): Steps<void>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- one map holds the watches of every resource type
type AnyTypeWatch = TypeWatch<any, any>;

export class XdsConfigSource {
  private readonly rds: XdsStream;
  private readonly ads: XdsStream;
  private readonly routes: ResourceStore<RouteConfigurationProto, RouteConfig>;
  private readonly clusters: ResourceStore<ClusterProto, true>;
  private readonly assignments: ResourceStore<ClusterLoadAssignmentProto, readonly Endpoint[]>;
  /**
   * Listeners (LDS): as a sidecar (nodeId 'istio'), every listener, for Aeraki's MetaProtocolProxy filter config per
   * route config; with a server listener name template (gRPC A36), the inbound listeners of the ports this process serves.
   */
  private readonly listeners: ResourceStore<ListenerProto, ListenerValue> | undefined;
  /** Inbound listener names asked for (watchInboundListener). */
  private readonly inboundNames = new Set<string>();
  private ldsAnswered = false;
  /** Translated clusters, rebuilt only for names whose CDS or EDS resource changed. */
  private readonly models = new Map<string, ClusterConfig>();
  private readonly staleModels = new Set<string>();
  private readonly clock: () => number;
  private readonly resourceTimeoutMs: number;
  private readonly wildcard: boolean;
  /** Every watched type by type URL; one handler each. */
  private readonly watches = new Map<XdsTypeUrl, AnyTypeWatch>();
  private rdsAnswered = false;
  private dirty = false;
  private closed = false;
  private emitted = 0;
  private current: Snapshot | undefined;
  private resourceTimer: NodeJS.Timeout | undefined;
  private waiters: Waiter[] = [];
  private firstConfig: { resolve: () => void; reject: (e: MeshError) => void } | undefined;
  private saving: Promise<void> = Promise.resolve();
  /** The config the next cache write takes, while that write has not started. */
  private cacheLists: CacheLists | undefined;
  /** The response (or expiry) being applied; the next waits for it, so all are applied in order. */
  private work: Promise<unknown> = Promise.resolve();

  /** Connects and resolves once the first complete config was handed to onSnapshot. */
  static async start(options: XdsConfigSourceOptions, onSnapshot: (snapshot: Snapshot) => unknown): Promise<XdsConfigSource> {
    const source = new XdsConfigSource(options, resolveXdsOptions(options), onSnapshot);
    // Creating the two gRPC channels and then opening the streams are each 5-10 ms the first time in a process
    // (grpc-js code running for the first time): a turn of the event loop between them.
    await new Promise<void>((resolve) => setImmediate(resolve));
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
    /** Takes each new snapshot; a promise (an apply in slices) is waited for before the response is ACKed. */
    private readonly onSnapshot: (snapshot: Snapshot) => unknown,
  ) {
    this.clock = options.clock ?? (() => performance.now());
    this.resourceTimeoutMs = options.resourceTimeoutMs ?? DEFAULT_RESOURCE_TIMEOUT_MS;
    this.routes = new ResourceStore(this.clock, rdsResourceType.decodeRaw);
    this.clusters = new ResourceStore(this.clock);
    this.assignments = new ResourceStore(this.clock, edsResourceType.decodeRaw);
    const initial = (options.services ?? []).map(toRouteConfigName);
    this.wildcard = initial.length === 0;
    this.routes.request(initial);
    const common = {
      credentials: resolved.credentials,
      security: resolved.security,
      node: resolved.node,
      backoff: options.backoff,
      protocol: resolved.protocol,
      onDeltaResponse: (t: XdsTypeUrl, r: DeltaDiscoveryResponseProto) => this.onDeltaResponse(t, r),
      maxReceiveMessageBytes: options.maxReceiveMessageBytes,
      watchdogMs: options.streamWatchdogMs,
    };
    this.rds = new XdsStream({
      ...common,
      kind: 'rds',
      target: resolved.rdsTarget,
      onResponse: (t, r) => this.onResponse(t, r),
      onState: (up, error) => this.onState(this.rds, up, error),
      onOpen: () => this.onOpen(this.rds),
    });
    this.ads = new XdsStream({
      ...common,
      kind: 'ads',
      target: resolved.adsTarget,
      onResponse: (t, r) => this.onResponse(t, r),
      onState: (up, error) => this.onState(this.ads, up, error),
      onOpen: () => this.onOpen(this.ads),
    });
    this.watch({
      type: rdsResourceType,
      store: this.routes,
      stream: this.rds,
      wanted: (name) => this.wildcard || this.routes.entries.has(name),
      applied: () => this.updateClusterNames(),
      appliedSteps: () => this.updateClusterNamesSteps(),
    });
    this.watch({
      type: cdsResourceType,
      store: this.clusters,
      stream: this.ads,
      wanted: (name) => this.clusters.entries.has(name),
      applied: (changed, removed) => {
        for (const name of changed) this.staleModels.add(name);
        for (const name of removed) this.staleModels.add(name);
        this.updateAssignmentNames();
      },
    });
    this.watch({
      type: edsResourceType,
      store: this.assignments,
      stream: this.ads,
      wanted: (name) => this.assignments.entries.has(name),
      applied: (changed, removed) => {
        for (const name of changed) this.markClustersOf(name);
        for (const name of removed) this.markClustersOf(name);
      },
    });
    this.listeners = this.watchListeners();
  }

  /**
   * As a sidecar, istiod sends this node the listeners Aeraki's EnvoyFilters patched: their
   * MetaProtocolProxy filters carry the rate limits, tracing sampling and access log of each
   * `<host>_<port>`, which MetaRDS does not. LDS is a wildcard subscription, as Envoy makes it.
   */
  private watchListeners(): ResourceStore<ListenerProto, ListenerValue> | undefined {
    const sidecar = this.options.nodeId === 'istio';
    if (!sidecar && this.resolved.serverListenerTemplate === undefined) return undefined;
    const store = new ResourceStore<ListenerProto, ListenerValue>(this.clock);
    const type = createLdsResourceType((name) => name.startsWith(ISTIO_INBOUND_LISTENER_PREFIX) || this.inboundNames.has(name));
    this.watch({ type, store, stream: this.ads, wanted: (name) => sidecar || this.inboundNames.has(name), applied: () => undefined });
    return store;
  }

  /**
   * The LDS name of a server's inbound listener on `host:port`, from the bootstrap's
   * server_listener_resource_name_template (gRPC A36); undefined when there is none.
   */
  inboundListenerName(host: string, port: number): string | undefined {
    const template = this.resolved.serverListenerTemplate;
    if (template === undefined) return undefined;
    const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    return template.replaceAll('%s', address);
  }

  /** Asks for the inbound listener `name` (once); the next snapshot after it arrives carries it. */
  watchInboundListener(name: string): void {
    if (this.closed || this.listeners === undefined || this.inboundNames.has(name)) return;
    this.inboundNames.add(name);
    this.listeners.request([name]);
    if (this.options.nodeId !== 'istio') this.ads.subscribe(TYPE_LDS, [...this.inboundNames]);
  }

  /** The inbound listener `name` in force: its last good version, or undefined (not yet sent, removed or never valid). */
  inboundListener(name: string): InboundListenerModel | undefined {
    return this.listeners?.get(name)?.value?.inbound;
  }

  private watch<Raw, Value>(w: TypeWatch<Raw, Value>): void {
    this.watches.set(w.type.typeUrl, w);
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
      resources: [...this.watches.values()].flatMap((w) => tag(w.type.typeUrl, w.store.dump())),
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
    // A sidecar takes every listener (wildcard); a proxyless server asks for its inbound listeners by name as it listens.
    if (this.listeners !== undefined && this.options.nodeId === 'istio') this.ads.subscribe(TYPE_LDS, undefined);
    this.updateClusterNames();
    this.armResourceTimer();
    await this.serial(() => this.maybeEmit());
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
      this.listeners?.restartClock();
    }
    this.armResourceTimer();
  }

  private onState(stream: XdsStream, up: boolean, error?: string): void {
    if (!up && this.current === undefined && this.options.onControlPlaneDown === 'error') {
      this.failStart(MeshErrorCode.CONNECT_FAILURE, `the xDS server ${stream.target} cannot be reached (${error ?? 'stream closed'})`);
    }
  }

  /**
   * One response of any type, through that type's handler: all of it is
   * applied, or (any resource invalid) none of it and the reasons go back as the NACK.
   */
  private onResponse(typeUrl: XdsTypeUrl, response: DiscoveryResponseProto): Promise<readonly string[]> {
    return this.applied(typeUrl, (w) =>
      applyResponse(w.type, w.store, response, {
        wanted: (name) => w.wanted(name),
        serverKnowsOf: (name) => w.stream.serverKnowsOf(typeUrl, name),
      }),
    );
  }

  /** One delta response, through the same handler and with the same all-or-nothing rule. */
  private onDeltaResponse(typeUrl: XdsTypeUrl, response: DeltaDiscoveryResponseProto): Promise<readonly string[]> {
    return this.applied(typeUrl, (w) => applyDeltaResponse(w.type, w.store, response, (name) => w.wanted(name)));
  }

  private applied(typeUrl: XdsTypeUrl, apply: (w: AnyTypeWatch) => Steps<ApplyResult>): Promise<readonly string[]> {
    return this.serial(async () => {
      const w = this.watches.get(typeUrl);
      if (w === undefined || this.closed) return [];
      if (typeUrl === TYPE_RDS) this.rdsAnswered = true;
      if (typeUrl === TYPE_LDS) this.ldsAnswered = true;
      const result = await runSliced(apply(w), SLICE_MS, `xDS ${w.type.short} response`);
      if (result.errors.length > 0) return result.errors;
      if (result.changed.length > 0 || result.removed.length > 0) this.dirty = true;
      if (w.appliedSteps !== undefined) {
        await runSliced(w.appliedSteps(result.changed, result.removed), SLICE_MS, `xDS ${w.type.short} follow-up`);
      } else {
        // Not sliced (dependent subscriptions, which clusters to rebuild), but timed with the steps.
        const start = performance.now();
        const cpu = cpuNow();
        w.applied(result.changed, result.removed);
        noteWork(performance.now() - start, `xDS ${w.type.short} follow-up`, cpuSince(cpu));
      }
      await this.maybeEmit();
      return [];
    });
  }

  /** Runs `work` after everything queued before it: one response, expiry or first emit at a time. */
  private serial<T>(work: () => Promise<T>): Promise<T> {
    const turn = this.work.then(work);
    this.work = turn.catch(() => undefined);
    return turn;
  }

  /** CDS asks for exactly the clusters the routes in use name (targets and mirrors). */
  private updateClusterNames(names = runNow(this.clusterNamesSteps())): void {
    for (const name of this.clusters.entries.keys()) if (!names.has(name)) this.models.delete(name);
    this.clusters.retain(names);
    this.clusters.request(names);
    if (names.size > 0 || this.ads.names(TYPE_CDS) !== undefined) this.ads.subscribe(TYPE_CDS, [...names]);
    this.updateAssignmentNames();
    this.armResourceTimer();
  }

  /** updateClusterNames with the routes read in steps. */
  private *updateClusterNamesSteps(): Steps<void> {
    this.updateClusterNames(yield* this.clusterNamesSteps());
  }

  /** The clusters the routes in use name, ROUTES_PER_NAMES_STEP routes per step (10,000 routes are a few ms). */
  private *clusterNamesSteps(): Steps<Set<string>> {
    const names = new Set<string>();
    let seen = 0;
    for (const e of this.routes.entries.values()) {
      for (const r of e.value?.routes ?? []) {
        if (++seen % ROUTES_PER_NAMES_STEP === 0) yield;
        for (const c of r.clusters) names.add(c.cluster);
        for (const m of r.mirrors) names.add(m.cluster);
      }
    }
    return names;
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
    if (this.listeners !== undefined && this.options.nodeId === 'istio' && !this.ldsAnswered) out.push(`the listeners (LDS) of ${this.resolved.adsTarget}`);
    for (const e of this.routes.entries.values()) if (e.status === 'REQUESTED') out.push(`route configuration ${e.name}`);
    for (const e of this.clusters.entries.values()) if (e.status === 'REQUESTED') out.push(`cluster ${e.name}`);
    for (const e of this.assignments.entries.values()) if (e.status === 'REQUESTED') out.push(`endpoints of ${e.name}`);
    return out;
  }

  private async maybeEmit(): Promise<void> {
    if (this.closed || !this.dirty || this.pending().length > 0) return;
    this.dirty = false;
    const snapshot = await runSliced(this.buildSnapshot(), SLICE_MS, 'xDS snapshot');
    this.current = snapshot;
    try {
      await this.onSnapshot(snapshot);
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

  /** The snapshot of the resources held; a translated cluster per step. */
  private *buildSnapshot(): Steps<Snapshot> {
    const warnings: string[] = [];
    const services = new Map<string, Service>();
    const routeConfigs = new Map<string, RouteConfig>();
    for (const e of this.routes.entries.values()) {
      if (e.value === undefined) continue;
      routeConfigs.set(e.name, e.value);
      const service = serviceOf(e.name);
      if (service === undefined) warnings.push(`route configuration '${e.name}' is not named <host>_<port>, so no service uses it`);
      else services.set(serviceKey(service.host, service.port), service);
    }
    this.applyListenerSettings(routeConfigs);
    for (const name of this.staleModels) {
      const e = this.clusters.get(name);
      if (e?.raw === undefined) {
        this.models.delete(name);
        continue;
      }
      const eds = edsServiceName(e.raw);
      this.models.set(name, clusterFromXdsEndpoints(e.raw, eds === undefined ? undefined : this.assignments.get(eds)?.value));
      yield;
    }
    this.staleModels.clear();
    const clusters = new Map<string, ClusterConfig>();
    for (const e of this.clusters.entries.values()) {
      const model = this.models.get(e.name);
      if (model !== undefined) clusters.set(e.name, model);
    }
    for (const w of this.watches.values()) for (const e of w.store.entries.values()) warnAbout(w.type.short, e, warnings);
    return Object.freeze({ version: `xds-${++this.emitted}`, services, clusters, routeConfigs, warnings: Object.freeze(warnings) });
  }

  /**
   * Overlays each outbound MetaProtocolProxy filter's settings on the route config it names.
   * The fields Aeraki has no filter config for (fault, timeout, retries) stay YAML-only.
   */
  private applyListenerSettings(routeConfigs: Map<string, RouteConfig>): void {
    if (this.listeners === undefined) return;
    const all = [...this.listeners.entries.values()].flatMap((e) => e.value?.services ?? []);
    // Outbound first, so an inbound filter's limits (where Aeraki installs them) win for the same route config.
    all.sort((a, b) => (a.direction === b.direction ? 0 : a.direction === 'outbound' ? -1 : 1));
    for (const s of all) {
      const names = s.routeConfigName.startsWith('*_')
        ? [...routeConfigs.keys()].filter((n) => n.endsWith(s.routeConfigName.slice(1)))
        : [s.routeConfigName];
      for (const name of names) {
        const rc = routeConfigs.get(name);
        if (rc === undefined) continue;
        routeConfigs.set(
          rc.name,
          Object.freeze({
            ...rc,
            ...(s.localRateLimit === undefined ? {} : { localRateLimit: s.localRateLimit }),
            ...(s.globalRateLimit === undefined ? {} : { globalRateLimit: s.globalRateLimit }),
            ...(s.tracing === undefined ? {} : { tracing: s.tracing }),
          }),
        );
      }
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
    void this.serial(async () => {
      if (this.closed) return;
      const deadline = this.clock() - this.resourceTimeoutMs;
      for (const w of this.watches.values()) {
        if (!w.stream.isOpen) continue;
        const removed: string[] = [];
        for (const e of w.store.entries.values()) if (e.status === 'REQUESTED' && e.requestedAt <= deadline && w.store.absent(e.name)) removed.push(e.name);
        if (removed.length === 0) continue;
        this.dirty = true;
        w.applied([], removed);
      }
      try {
        await this.maybeEmit();
      } finally {
        this.armResourceTimer();
      }
    }).catch(() => undefined);
  }

  /** The cached resources go through the same checks as resources from the wire; one that fails them is left to the server. */
  private loadCache(cached: CachedTypes): void {
    const load = <Raw, Value>(store: ResourceStore<Raw, Value>, type: XdsResourceType<Raw, Value>, list: NonNullable<CachedTypes[keyof CachedTypes]>, keep: (name: string) => boolean): string[] => {
      const names: string[] = [];
      for (const raw of list.resources as Raw[]) {
        const name = type.nameOfRaw(raw);
        if (name === undefined || name === '' || !keep(name)) continue;
        try {
          store.accept(name, raw, undefined, type.fromRaw(raw), list.version, true);
          names.push(name);
        } catch {
          // a cache written by another version that no longer passes the checks: ask the server instead
        }
      }
      return names;
    };
    const routes = load(this.routes, rdsResourceType, cached.routeConfigurations, (name) => this.wildcard || this.routes.entries.has(name));
    if (routes.length > 0) this.dirty = true;
    if (this.wildcard && this.routes.entries.size > 0) this.rdsAnswered = true;
    // Clusters and endpoints are all kept; the routes' subscriptions then retain the ones in use.
    for (const name of load(this.clusters, cdsResourceType, cached.clusters, () => true)) this.staleModels.add(name);
    load(this.assignments, edsResourceType, cached.assignments, () => true);
    // The listeners as LDS last answered (an empty list included): rate limits and sampling survive a restart.
    const lds = this.watches.get(TYPE_LDS) as TypeWatch<ListenerProto, ListenerValue> | undefined;
    if (this.listeners !== undefined && lds !== undefined && this.options.nodeId === 'istio' && cached.listeners !== undefined) {
      load(this.listeners, lds.type, cached.listeners, () => true);
      this.ldsAnswered = true;
      this.dirty = true;
    }
  }

  /**
   * Writes the config just applied to the cache file: the resources are taken
   * now (references: the bytes and raw resources are never changed in place),
   * decoded and written later in slices. A write waiting to start takes the
   * newest config instead, so a burst of updates costs one or two writes.
   */
  private saveCache(): void {
    const file = this.options.cacheFile;
    if (file === undefined) return;
    const take = <R>(store: ResourceStore<R, unknown>): CacheList<R> => {
      const resources: (() => R | undefined)[] = [];
      for (const e of store.entries.values()) {
        const raw = e.raw;
        const bytes = e.bytes;
        if (raw !== undefined) resources.push(() => raw);
        else if (bytes !== undefined) resources.push(() => store.rawOfBytes(bytes));
      }
      // The newest by receipt: "9" then "10" is 10, whatever string order says.
      return { version: store.lastVersion ?? '', resources };
    };
    const waiting = this.cacheLists !== undefined;
    this.cacheLists = {
      routeConfigurations: take(this.routes),
      clusters: take(this.clusters),
      assignments: take(this.assignments),
      ...(this.listeners !== undefined && this.options.nodeId === 'istio' && this.ldsAnswered ? { listeners: take(this.listeners) } : {}),
    };
    if (waiting) return;
    // One write at a time, in order; a failed write only loses the cold-start copy.
    this.saving = this.saving
      .then(async () => {
        const lists = this.cacheLists;
        this.cacheLists = undefined;
        if (lists !== undefined) await writeLastGoodText(file, await runSliced(lastGoodSteps(lists), SLICE_MS, 'xDS cache write'));
      })
      .catch(() => undefined);
  }

  /** @internal Resolves when pending cache writes are on disk (tests). */
  flushCache(): Promise<void> {
    return this.saving;
  }
}

function warnAbout(kind: string, e: { name: string; status: string; error?: { details: string; version: string } | undefined; value?: unknown }, out: string[]): void {
  if (e.status === 'NACKED' && e.error !== undefined) {
    const kept = e.value === undefined ? 'there is no earlier version to use' : 'the last good version stays in force';
    out.push(`xDS ${kind} ${e.name} version ${e.error.version} was refused (${e.error.details}); ${kept}`);
  } else if (e.status === 'DOES_NOT_EXIST') {
    out.push(`xDS ${kind} ${e.name} is not served by the control plane; calls that need it fail until it is`);
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
