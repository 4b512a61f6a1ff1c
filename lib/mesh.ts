// Mesh: the in-process data plane. It owns the config source (YAML files
// today), the current MeshState, the upstream connection pool and the chains;
// adapters (Thrift, Dubbo, ...) hand it calls through OutboundService and
// inbound handlers.
import { EventEmitter } from 'node:events';
import Bottleneck from 'bottleneck';
import type { Service, Snapshot } from './config/model';
import { routeConfigName, serviceKey } from './config/model';
import { loadConfigFiles, parseConfig, setRegexMaxProgramSize, snapshotToJSON } from './config';
import type { Call, Filter, Handler, Reply } from './filters/call';
import { composeFilters } from './filters/filter-chain';
import { EndpointCensus } from './cluster/endpoint-census';
import { MeshState, type MeshStateDeps } from './mesh-state';
import { BUSY_SLICE_MS, cpuNow, cpuSince, noteWork, runNow, runSliced, SLICE_MS, watchLoopDemand } from './config/sliced-work';
import { MeshError, MeshErrorCode } from './protocol/mesh-error';
import type { CodecFactory } from './protocol/codec';
import { Mirror } from './route/mirror';
import { UpstreamPool } from './upstream/upstream-pool';
import { ConfigWatcher } from './config/config-watcher';
import { ServiceRateLimits } from './ratelimit/service-rate-limits';
import type { XdsConfigSource, XdsConfigSourceOptions } from './xds/xds-config-source';
import { istioNodeId } from './xds/node-identity';
import { ClusterResilienceRegistry } from './cluster/cluster-resilience';
import { FaultInjector } from './filters/fault-injection';
import { CallDeadlines, callDeadlineOf, endWhenSettled, type CallDeadline } from './filters/call-deadline';
import { createTelemetryFilters, type MeshMetrics, type TelemetryOptions } from './telemetry';
import { settleThrow } from './telemetry/settle-throw';
import { InboundSecurity, type WorkloadOptions } from './security/inbound-security';
import { chooseIdentityFiles } from './security/identity-source';
import { UpstreamTlsResolver } from './security/upstream-tls';
import { WorkloadIdentity, type IdentityFiles } from './security/workload-identity';
import { readBootstrap } from './xds/bootstrap';
import type { DownstreamTlsPolicy } from './downstream/accept-downstream-socket';
import type { AdminOptions, AdminServer } from './admin/admin-server';

export interface MeshOptions {
  /** YAML manifests (files or directories) holding ServiceEntry, DestinationRule and MetaRouter documents. */
  config?: string | readonly string[] | undefined;
  /** A ready snapshot instead of files (tests, programmatic config). */
  snapshot?: Snapshot | undefined;
  /**
   * Take config from a control plane instead of YAML: MetaRDS (Aeraki) for
   * routes, ADS (istiod or the istio-agent) for clusters and endpoints.
   */
  xds?: XdsConfigSourceOptions | undefined;
  /** Rebuild the config when a file changes (default true with `config`). */
  watch?: boolean | undefined;
  /** Your own filters; the first listed is the outermost. The router (outbound) or the handler (inbound) is last. */
  filters?: { outbound?: readonly Filter[] | undefined; inbound?: readonly Filter[] | undefined } | undefined;
  /** Deadline of a call when its route sets none, in ms (default 30000). */
  defaultTimeoutMs?: number | undefined;
  /**
   * Connect timeout for hosts no ServiceEntry declares (passthrough under ALLOW_ANY), in ms, like Istio's
   * meshConfig.connectTimeout (default 10000). Declared hosts take their DestinationRule's connectTimeout.
   */
  connectTimeoutMs?: number | undefined;
  /** Multiplexed sockets per endpoint (default 1). */
  connectionsPerEndpoint?: number | undefined;
  /** Open connections to a service's endpoints before its first call (default true). */
  preconnect?: boolean | undefined;
  /** Pacing of those background connects (default 8 at once, 5 ms apart). */
  preconnectPacing?: { maxConcurrent?: number | undefined; minTimeMs?: number | undefined } | undefined;
  /** Bounds of mirrored (shadow) traffic (default 16 in flight, 256 queued; more are dropped and counted). */
  mirror?: { maxConcurrent?: number | undefined; maxQueued?: number | undefined } | undefined;
  /**
   * What to do with a call to a host:port no ServiceEntry declares, named like Istio's
   * meshConfig.outboundTrafficPolicy: REGISTRY_ONLY (default) fails it with NO_ROUTE, ALLOW_ANY sends it
   * straight to that address.
   */
  outboundTrafficPolicy?: 'REGISTRY_ONLY' | 'ALLOW_ANY' | undefined;
  /**
   * Where Kubernetes secrets are mounted, read as `<secretDir>/<name>/<field>` for RedisService and
   * RedisDestination `auth.secret` (default /var/run/secrets/meta-mesh).
   */
  secretDir?: string | undefined;
  /** Where warnings go (default console.warn). */
  logger?: ((message: string) => void) | undefined;
  /**
   * Largest RE2 program a config regex may compile to (Envoy's max_program_size, default 100; also
   * META_MESH_REGEX_MAX_PROGRAM_SIZE). Process-wide, like Envoy's runtime key; set before config is loaded.
   */
  regexMaxProgramSize?: number | undefined;
  /**
   * OpenTelemetry traces and metrics (through @opentelemetry/api: register an SDK to export them) and
   * access logs, put at the front of every chain. Off unless set.
   */
  telemetry?: TelemetryOptions | undefined;
  /**
   * Who this process is, for choosing the PeerAuthentication and AuthorizationPolicy objects that apply
   * to it as Istio does: `namespace` (default: POD_NAMESPACE, else `default`), `labels` (for
   * `selector.matchLabels`), `rootNamespace` (mesh-wide policies; default `istio-system`).
   */
  workload?: WorkloadOptions | undefined;
  /**
   * This workload's certificate for mutual TLS (ISTIO_MUTUAL outbound, PeerAuthentication inbound): PEM file
   * paths, re-read when they change. Default: the gRPC bootstrap's certificate_providers (file_watcher), else
   * Istio's workload credential files when they exist.
   */
  identity?: IdentityFiles | undefined;
  /**
   * The mesh's trust domain (Istio's meshConfig.trustDomain): ISTIO_MUTUAL expects
   * `spiffe://<trust domain>/ns/<ns>/sa/<sa>` of a ServiceEntry's endpoints, and `cluster.local/...` principals
   * in authorization policies stand for it. Default: the workload certificate's SPIFFE id's, else `cluster.local`.
   */
  trustDomain?: string | undefined;
  /**
   * The admin port (off unless set): /config_dump, /clusters, /ready, /stats and CSDS over gRPC,
   * on loopback unless `allowRemote`. It shows the whole config: keep it off untrusted networks.
   */
  admin?: AdminOptions | undefined;
}

/** Istio's meshConfig.connectTimeout default, for hosts no ServiceEntry declares. */
const PASSTHROUGH_CONNECT_TIMEOUT_MS = 10_000;

export interface MeshEvents {
  config: [snapshot: Snapshot];
  configError: [error: MeshError];
}

export class Mesh extends EventEmitter<MeshEvents> {
  private state: MeshState;
  private readonly pool: UpstreamPool;
  private readonly mirror: Mirror;
  private readonly pacer: Bottleneck | undefined;
  private readonly openServices = new Map<string, OutboundService>();
  private readonly closers = new Set<() => void | Promise<void>>();
  private watcher: ConfigWatcher | undefined;
  private adminServer: AdminServer | undefined;
  private xdsSource: XdsConfigSource | undefined;
  private readonly rateLimits: ServiceRateLimits;
  private readonly resilience: ClusterResilienceRegistry;
  private readonly faults = new FaultInjector();
  private readonly endpoints = new EndpointCensus();
  /** The config last handed to applySnapshot(InSlices): a build for an older one is dropped. */
  private newest: Snapshot | undefined;
  /** The snapshot being applied in slices, if any: the next waits for it. */
  private applying: Promise<void> = Promise.resolve();
  private readonly deadlines = new CallDeadlines();
  private readonly outboundFilters: readonly Filter[];
  /** Inbound telemetry (outermost, so it sees calls rate limits refuse) and the user's inbound filters. */
  private readonly inboundTelemetry: readonly Filter[];
  private readonly inboundUser: readonly Filter[];
  /** Authorization (and, with TLS, peer authentication) of inbound calls. */
  private readonly security: InboundSecurity;
  private readonly workloadIdentity: WorkloadIdentity | undefined;
  /** Counters for ejections, retries and mirrored calls (OpenTelemetry, created lazily). */
  readonly metrics: MeshMetrics;
  private closed = false;
  readonly options: Readonly<MeshOptions>;
  readonly defaultTimeoutMs: number;

  /** Loads the config and returns a running mesh. */
  static async start(options: MeshOptions = {}): Promise<Mesh> {
    if (options.regexMaxProgramSize !== undefined) setRegexMaxProgramSize(options.regexMaxProgramSize);
    if (options.xds !== undefined) return Mesh.startFromXds(options, options.xds);
    if (options.config !== undefined && options.snapshot !== undefined) {
      // Either would silently lose: the snapshot first, then the first file edit would replace it.
      throw new MeshError(MeshErrorCode.CONFIG, 'Mesh.start takes one config source: `config` (YAML files) or `snapshot`, not both');
    }
    const paths = options.config === undefined ? [] : typeof options.config === 'string' ? [options.config] : [...options.config];
    // No config at all is a server-only mesh: inbound chains work, outbound calls find no ServiceEntry.
    const parseOptions = options.secretDir === undefined ? {} : { secretDir: options.secretDir };
    const empty = parseConfig([]);
    const snapshot = options.snapshot ?? (paths.length > 0 ? await loadConfigFiles(paths, parseOptions) : empty);
    // Built in slices: a 100k-endpoint config does not stall what else this process runs while it starts.
    const mesh = new Mesh(empty, options);
    if (snapshot !== empty) await mesh.applySnapshotInSlices(snapshot);
    if (paths.length > 0 && options.watch !== false) {
      // A reload keeps 1 ms slices while calls are in flight (the busy slice's trade does not pay here): side by side
      // at 100k endpoints under a call stream, 0.25 ms slices for its mesh state and census made the reload
      // 0.81-1.05 s against 0.55-0.88 s and left the calls' p99 where the reload's collections put it.
      mesh.watcher = new ConfigWatcher(paths, (s) => mesh.applySnapshotInSlices(s, SLICE_MS), (e) => mesh.reportConfigError(e), {
        parse: parseOptions,
        current: () => mesh.snapshot,
      });
      mesh.watcher.start();
    }
    await mesh.startAdmin();
    return mesh;
  }

  private static async startFromXds(options: MeshOptions, xds: XdsConfigSourceOptions): Promise<Mesh> {
    if (options.config !== undefined || options.snapshot !== undefined) {
      throw new MeshError(MeshErrorCode.CONFIG, 'Mesh.start takes one config source: `xds`, `config` (YAML files) or `snapshot`, not several');
    }
    let mesh: Mesh | undefined;
    let first: Snapshot | undefined;
    // The xDS client (grpc-js, protobufjs and the Envoy protos) loads only when a mesh asks for it.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use (import cost)
    const { XdsConfigSource } = require('./xds/xds-config-source') as typeof import('./xds/xds-config-source');
    // The source waits for each apply before it ACKs and takes the next response.
    const source = await XdsConfigSource.start(xds, (snapshot) => {
      if (mesh === undefined) first = snapshot;
      else return mesh.applySnapshotInSlices(snapshot);
    });
    mesh = new Mesh(parseConfig([]), options);
    const initial = first!;
    // The callback's closure outlives the start: left set, `first` would keep the initial config (its routes,
    // compiled route tables and endpoints) alive next to every later one.
    first = undefined;
    try {
      await mesh.applySnapshotInSlices(initial);
    } catch (err) {
      source.close();
      throw err;
    }
    mesh.xdsSource = source;
    if (source.inboundListenerName('0.0.0.0', 0) !== undefined) {
      // gRPC A36: servers take their mTLS mode and RBAC from the control plane's inbound listeners.
      mesh.security.useXdsInbound({
        nameFor: (host, port) => source.inboundListenerName(host, port),
        watch: (name) => source.watchInboundListener(name),
        get: (name) => source.inboundListener(name),
      });
    }
    mesh.onClose(() => source.close());
    await mesh.startAdmin();
    return mesh;
  }

  private constructor(snapshot: Snapshot, options: MeshOptions) {
    super();
    this.options = options;
    this.defaultTimeoutMs = options.defaultTimeoutMs ?? 30_000;
    if (options.connectTimeoutMs !== undefined && !(Number.isFinite(options.connectTimeoutMs) && options.connectTimeoutMs > 0)) {
      throw new MeshError(MeshErrorCode.CONFIG, `connectTimeoutMs is ${String(options.connectTimeoutMs)}; set a number of milliseconds above 0`);
    }
    this.workloadIdentity = loadIdentity(options);
    if (options.trustDomain !== undefined && !/^[a-z0-9.\-_]+$/i.test(options.trustDomain)) {
      throw new MeshError(MeshErrorCode.CONFIG, `trustDomain ${JSON.stringify(options.trustDomain)} is not a trust domain; use a name such as cluster.local (letters, digits, '.', '-', '_')`);
    }
    const trustDomain = () => options.trustDomain ?? this.workloadIdentity?.material.spiffeId?.trustDomain ?? 'cluster.local';
    const upstreamTls = new UpstreamTlsResolver(() => this.workloadIdentity, trustDomain);
    this.pool = new UpstreamPool({ connectionsPerEndpoint: options.connectionsPerEndpoint ?? 1, tls: (settings, host) => upstreamTls.resolve(settings, host) });
    this.mirror = new Mirror(options.mirror ?? {});
    this.rateLimits = new ServiceRateLimits((m) => this.log(`meta-mesh: ${m}`));
    // Sampling set by the listener config (LDS) of the called service's route config wins over the options.
    const telemetry = createTelemetryFilters(withPrincipal(options.telemetry, this.workloadIdentity?.spiffeId), {
      samplingOf: (call) => this.state.snapshot.routeConfigs.get(call.service.routeConfigName)?.tracing,
      nodeId: istioNodeId(),
    });
    this.metrics = telemetry.metrics;
    this.resilience = new ClusterResilienceRegistry((cluster) => this.metrics.ejection(cluster));
    this.outboundFilters = [...telemetry.outbound, ...(options.filters?.outbound ?? [])];
    this.inboundTelemetry = telemetry.inbound;
    this.inboundUser = options.filters?.inbound ?? [];
    this.security = new InboundSecurity(options.workload, (m) => this.log(m), () => this.state.snapshot, () => this.workloadIdentity, process.env, trustDomain);
    this.security.setIdentityNamespace(this.workloadIdentity?.material.spiffeId?.namespace);
    if (this.workloadIdentity !== undefined) {
      const identity = this.workloadIdentity;
      identity.on('error', (e) => this.log(`meta-mesh: the workload certificate files changed but cannot be used; the previous certificate stays: ${e.message}`));
      this.onClose(() => identity.close());
    }
    this.pacer =
      options.preconnect === false
        ? undefined
        : new Bottleneck({ maxConcurrent: options.preconnectPacing?.maxConcurrent ?? 8, minTime: options.preconnectPacing?.minTimeMs ?? 5 });
    this.state = this.buildState(snapshot);
    runNow(this.endpoints.updateSteps(this.state.takeCensusChanges().added, []));
    this.warnAll(snapshot.warnings);
    // While this mesh has calls in flight, config work (any mesh's) runs in shorter slices (sliced-work.ts).
    this.onClose(watchLoopDemand(() => this.deadlines.size > 0));
  }

  /** @internal The bounded mirror queue; adapters that route themselves (Redis) submit shadow sends to it. */
  get mirrorQueue(): Mirror {
    return this.mirror;
  }

  /** This workload's SPIFFE id (`spiffe://<trust domain>/ns/<ns>/sa/<sa>`) from its certificate; undefined without one. */
  get identity(): string | undefined {
    return this.workloadIdentity?.spiffeId;
  }

  /** @internal PeerAuthentication for servers: the mTLS mode of a port, the certificate, refusals counted. */
  get downstreamTls(): DownstreamTlsPolicy {
    return this.security;
  }

  /** @internal The workload identity (certificate files, rotation), if any. */
  get workloadCredentials(): WorkloadIdentity | undefined {
    return this.workloadIdentity;
  }

  /** The config in force. */
  get snapshot(): Snapshot {
    return this.state.snapshot;
  }

  /** @internal The state in force; calls capture it once. */
  get currentState(): MeshState {
    return this.state;
  }

  /** Replaces the config: calls in flight finish on the old one, new calls see the new one. */
  applySnapshot(snapshot: Snapshot): void {
    if (this.closed) return;
    this.newest = snapshot;
    const previous = this.state;
    const state = this.buildState(snapshot, previous);
    const { added, dropped } = state.takeCensusChanges();
    this.swapState(state, previous, runNow(this.endpoints.updateSteps(added, dropped)));
  }

  /**
   * applySnapshot without stalls: the new state is built in slices of a few
   * milliseconds with turns of the event loop between them (calls keep
   * flowing on the config in force), then swapped in at once. Snapshots are
   * applied one at a time in order; one that a newer snapshot overtakes while
   * it waits is skipped (the newer holds the whole config). Config sources
   * (xDS, the YAML watcher) apply through this and ACK once it resolves.
   * `busySliceMs`: the slice while calls are in flight (runSliced).
   */
  applySnapshotInSlices(snapshot: Snapshot, busySliceMs = BUSY_SLICE_MS): Promise<void> {
    this.newest = snapshot;
    const turn = this.applying.then(async () => {
      if (this.closed || this.newest !== snapshot) return;
      const previous = this.state;
      const state = await runSliced(MeshState.build(snapshot, this.stateDeps(), previous), SLICE_MS, 'mesh state', busySliceMs);
      // A synchronous applySnapshot while this one was being built is newer: it stays.
      if (this.closed || this.newest !== snapshot) return;
      this.warnAll(state.warnings);
      const { added, dropped } = state.takeCensusChanges();
      if (dropped.length === 0) {
        // Only new clusters (a start): no endpoint can have left, and nothing asks the census until the next update,
        // so their endpoints (100k in a large mesh: ~50 ms of the start) are counted after the swap, in slices.
        this.endpoints.defer(added);
        this.swapState(state, previous, false);
        void this.countDeferredEndpoints();
        return;
      }
      const left = await runSliced(this.endpoints.updateSteps(added, dropped), SLICE_MS, 'endpoint census', busySliceMs);
      if (this.closed) return;
      if (this.newest !== snapshot) {
        // A synchronous applySnapshot while the census counted this state is newer and in force (it counted its own
        // change from the state before this one): this state is never swapped in, so its counts come out again.
        await runSliced(this.endpoints.updateSteps(dropped, added), SLICE_MS, 'endpoint census', busySliceMs);
        return;
      }
      this.swapState(state, previous, left);
    });
    this.applying = turn.catch(() => undefined);
    return turn;
  }

  /** Counts in the endpoints of the clusters the census took to count later, in slices (an update would count them first). */
  private async countDeferredEndpoints(): Promise<void> {
    try {
      await runSliced(this.endpoints.countDeferredSteps(), SLICE_MS, 'endpoint census');
    } catch (err) {
      this.log(`meta-mesh: counting the endpoints of the config in force failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private swapState(state: MeshState, previous: MeshState, endpointLeft: boolean): void {
    // One step, after the sliced build: timed with the steps (takeLongestStep).
    const start = performance.now();
    const cpu = cpuNow();
    this.state = state;
    if (endpointLeft) this.pool.retain(this.endpoints);
    this.rateLimits.retain(state.snapshot.routeConfigs);
    this.warnAll(state.snapshot.warnings);
    for (const service of this.openServices.values()) this.preconnect(service, previous);
    this.emit('config', state.snapshot);
    noteWork(performance.now() - start, 'mesh swap', cpuSince(cpu));
  }

  /** Reloads the YAML files now (the watcher does this on change). */
  async reload(): Promise<Snapshot> {
    if (this.watcher === undefined) throw new MeshError(MeshErrorCode.CONFIG, 'this mesh was not started from YAML files (with xds, the control plane pushes changes)');
    return this.watcher.reload();
  }

  /**
   * The outbound side of one `host:port` for one protocol. Adapters call this
   * once per client connection and then send every call through it.
   */
  outbound(host: string, port: number, codecFactory: CodecFactory): OutboundService {
    this.assertOpen();
    // The codec variant is part of the key: a framed client and a THeader client of one host:port
    // must never share an OutboundService (its passthrough hosts), or one socket would carry both formats.
    const key = `${codecFactory.protocol}/${codecFactory.variant ?? ''}|${serviceKey(host, port)}`;
    let service = this.openServices.get(key);
    if (service === undefined) {
      service = new OutboundService(this, host, port, codecFactory);
      this.openServices.set(key, service);
      this.preconnect(service);
      // With a control plane, routes are asked for on demand, as the application opens connections.
      void this.xdsSource?.watchService(host, port);
    }
    return service;
  }

  /**
   * The signal for a new call's `Call.signal`: aborted `timeoutMs` after
   * `startTime` (performance.now(), default now) with a TIMEOUT MeshError, or by
   * `close()` with CLOSED. Once the call settles through `OutboundService.handle`
   * or an inbound chain, its timer stops and the signal never aborts.
   */
  callSignal(timeoutMs: number, startTime?: number): AbortSignal {
    return this.deadlines.start(timeoutMs, startTime).signal;
  }

  /**
   * The deadline for a new call, as `callSignal` but without making the
   * AbortSignal until something reads it (making one costs several µs, and
   * most calls never need it). Adapters put it in `Call.deadline` and read
   * `Call.signal` from it lazily: `get signal() { return deadline.signal; }`.
   */
  callDeadline(timeoutMs: number, startTime?: number): CallDeadline {
    return this.deadlines.start(timeoutMs, startTime);
  }

  /** Calls whose signal is still live (started and not settled): for leak checks. */
  get liveCalls(): number {
    return this.deadlines.size;
  }

  /**
   * Wraps an application handler in the inbound chain: the served service's
   * MetaRouter rate limits (when `served` names it), then the user's inbound
   * filters, then the handler. Server adapters call it once per server; the
   * chain is recomposed lazily after a config change, never per call.
   */
  inbound(terminal: Handler, served?: { host: string; port: number }): Handler {
    let composedFor: MeshState | undefined;
    let chain: Handler = terminal;
    return (call) => {
      const state = this.state;
      if (state !== composedFor) {
        composedFor = state;
        const service = served === undefined ? undefined : state.service(served.host, served.port);
        const rateLimit =
          service === undefined ? undefined : this.rateLimits.filterFor(state.snapshot.routeConfigs.get(service.routeConfigName), state.snapshot.clusters);
        // Telemetry first (it sees refused calls), then authorization, then rate limits: a denied call spends no tokens.
        const authz = this.security.authorizationFilter(state.snapshot);
        const filters = [...this.inboundTelemetry, ...(authz === undefined ? [] : [authz]), ...(rateLimit === undefined ? [] : [rateLimit]), ...this.inboundUser];
        chain = composeFilters(filters, terminal);
      }
      return endWhenSettled(call, settleThrow(chain, call));
    };
  }

  /** The config in force and the state of every upstream, as plain JSON (like Envoy's config dump). */
  dump(): Record<string, unknown> {
    const upstreams = [...this.pool.all()].map((h) => ({
      key: h.key,
      active: h.active,
      inFlight: h.inFlight,
      connections: h.connectionCount,
      idleClosed: h.idleClosed,
      retired: h.isRetired,
    }));
    return {
      version: this.state.version,
      config: snapshotToJSON(this.state.snapshot),
      warnings: [...this.state.snapshot.warnings, ...this.state.warnings],
      upstreams,
      mirror: { ...this.mirror.stats },
      authorization: { ...this.security.stats },
      peerAuthentication: { ...this.security.tlsStats },
      ...(this.xdsSource === undefined ? {} : { xds: this.xdsSource.dump() }),
    };
  }

  /** `host:port` of the admin port, when `admin` was given. */
  get adminAddress(): string | undefined {
    return this.adminServer?.address;
  }

  /** Opens the admin port when asked to; a mesh whose admin port cannot open is closed again. */
  private async startAdmin(): Promise<void> {
    const options = this.options.admin;
    if (options === undefined) return;
    try {
      // The admin port serves CSDS over gRPC: loaded only when asked for.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use (import cost)
      const { AdminServer } = require('./admin/admin-server') as typeof import('./admin/admin-server');
// eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use (import cost)
      const { meshAdminSource } = require('./admin/mesh-admin-source') as typeof import('./admin/mesh-admin-source');
      const admin = await AdminServer.start(
        options,
        meshAdminSource({
          state: () => this.state,
          hosts: () => this.pool.all(),
          counters: () => this.metrics.counters,
          mirror: () => ({ ...this.mirror.stats }),
          xds: () => this.xdsSource?.dump(),
          dump: () => this.dump(),
          live: () => !this.closed,
        }),
      );
      this.adminServer = admin;
      this.onClose(() => admin.close());
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  /** Registers something to close with the mesh (servers an adapter created for it). */
  onClose(closer: () => void | Promise<void>): () => void {
    this.closers.add(closer);
    return () => this.closers.delete(closer);
  }

  /** Stops watching, closes every connection and server it owns; the process can then exit by itself. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Every wait a call started (fault delays, back-off, queued mirrors) ends now.
    this.deadlines.close();
    this.faults.close();
    this.watcher?.close();
    const closers = [...this.closers];
    this.closers.clear();
    await Promise.allSettled(closers.map(async (c) => c()));
    if (this.pacer !== undefined) await this.pacer.stop({ dropWaitingJobs: true }).catch(() => undefined);
    this.mirror.close();
    this.resilience.close();
    await this.rateLimits.close();
    this.pool.close();
    this.openServices.clear();
  }

  /** Sends a warning to the mesh's logger: adapters report here the errors no listener takes. */
  warn(message: string): void {
    this.log(message);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** @internal The chain for a host:port no ServiceEntry declares, under ALLOW_ANY. */
  passthrough(host: string, port: number): Handler | undefined {
    if (this.options.outboundTrafficPolicy !== 'ALLOW_ANY') return undefined;
    const transport = { connectTimeoutMs: this.options.connectTimeoutMs ?? PASSTHROUGH_CONNECT_TIMEOUT_MS };
    return composeFilters(this.outboundFilters, async (call: Call): Promise<Reply | undefined> => {
      const upstream = this.pool.acquire(call.codecFactory, host, port, transport);
      call.upstream = upstream.endpoint;
      const options = call.mutation.size === 0 ? call.encodeOptions : { ...call.encodeOptions, mutation: call.mutation };
      const deadline = callDeadlineOf(call);
      const reply = await upstream.send(call.request, options, call.timeoutMs, call.expectReply, deadline === undefined ? { signal: call.signal } : { deadline });
      return reply === undefined ? undefined : { message: reply };
    });
  }

  /** @internal The chain for a host:port no ServiceEntry declares, under REGISTRY_ONLY: filters see the refusal. */
  undeclared(host: string, port: number): Handler {
    return composeFilters(this.outboundFilters, async () => {
      throw new MeshError(
        MeshErrorCode.NO_ROUTE,
        `no ServiceEntry declares ${host} port ${port}; add one to the mesh config, or start the mesh with outboundTrafficPolicy: 'ALLOW_ANY' to call undeclared hosts directly`,
        { details: { routeConfig: routeConfigName(host, port) } },
      );
    });
  }

  private buildState(snapshot: Snapshot, previous?: MeshState): MeshState {
    const state = new MeshState(snapshot, this.stateDeps(), previous);
    this.warnAll(state.warnings);
    return state;
  }

  private stateDeps(): MeshStateDeps {
    const metrics = this.metrics;
    return {
      pool: this.pool,
      mirror: this.mirror,
      outboundFilters: this.outboundFilters,
      resilience: this.resilience,
      faults: this.faults,
      events: { retry: (c) => metrics.retry(c), mirrored: (c, dropped) => metrics.mirrored(c, dropped) },
    };
  }

  /**
   * Opens connections to the endpoints a service's routes can reach, paced in
   * the background. After a config change that kept the service's routes,
   * only the clusters it rebuilt are looked at: the others' hosts are warm.
   */
  private preconnect(service: OutboundService, previous?: MeshState): void {
    const pacer = this.pacer;
    if (pacer === undefined || this.closed) return;
    const state = this.state;
    const svc = state.service(service.host, service.port);
    if (svc === undefined) return;
    const config = state.snapshot.routeConfigs.get(svc.routeConfigName);
    const routes = config?.routes ?? [];
    const only = config !== undefined && previous?.snapshot.routeConfigs.get(svc.routeConfigName) === config ? state.rebuilt : undefined;
    const names = new Set<string>();
    for (const route of routes) {
      for (const c of route.clusters) names.add(c.cluster);
      for (const m of route.mirrors) names.add(m.cluster);
    }
    for (const name of names) {
      if (only !== undefined && !only.has(name)) continue;
      const cluster = state.clusters.get(name);
      if (cluster === undefined) continue;
      for (const host of cluster.hosts(service.codecFactory)) {
        if (host.isWarm) continue;
        host.markWarm();
        pacer.schedule(() => host.warm()).catch(() => undefined);
      }
    }
  }

  private reportConfigError(error: MeshError): void {
    if (this.listenerCount('configError') > 0) this.emit('configError', error);
    else this.log(`meta-mesh: config not applied, the previous config stays in force:\n${error.message}`);
  }

  private warnAll(warnings: readonly string[]): void {
    for (const w of warnings) this.log(`meta-mesh: ${w}`);
  }

  private log(message: string): void {
    (this.options.logger ?? console.warn)(message);
  }

  private assertOpen(): void {
    if (this.closed) throw new MeshError(MeshErrorCode.CLOSED, 'this mesh is closed');
  }
}

/**
 * One `host:port` as seen by a client adapter. It resolves the service's
 * chain against the config in force when each call starts, so a config change
 * applies to the next call and never to a call in flight.
 */
export class OutboundService {
  private cachedState: MeshState | undefined;
  private cachedHandler: Handler | undefined;
  private cachedService: Service | undefined;

  constructor(
    private readonly mesh: Mesh,
    readonly host: string,
    readonly port: number,
    readonly codecFactory: CodecFactory,
  ) {}

  /** The service as the config in force declares it (a stand-in when none does). */
  get service(): Service {
    this.refresh();
    return this.cachedService!;
  }

  /** Runs one call through the outbound chain. */
  handle(call: Call): Promise<Reply | undefined> {
    this.refresh();
    return endWhenSettled(call, settleThrow(this.cachedHandler!, call));
  }

  private refresh(): void {
    const state = this.mesh.currentState;
    if (state === this.cachedState) return;
    this.cachedState = state;
    const declared = state.service(this.host, this.port);
    if (declared !== undefined) {
      this.cachedService = declared;
      this.cachedHandler = state.outboundHandler(declared);
      return;
    }
    this.cachedService = { host: this.host, port: this.port, portName: '', protocol: this.codecFactory.protocol, routeConfigName: routeConfigName(this.host, this.port) };
    const direct = this.mesh.passthrough(this.host, this.port);
    this.cachedHandler = direct ?? this.mesh.undeclared(this.host, this.port);
  }
}

/** The workload identity from the options, the gRPC bootstrap or Istio's files; undefined when there is none. */
function loadIdentity(options: MeshOptions): WorkloadIdentity | undefined {
  let providers;
  if (options.identity === undefined) {
    try {
      providers = readBootstrap(options.xds?.bootstrap, options.xds?.env ?? process.env)?.certificateProviders;
    } catch {
      // An unreadable bootstrap is the xDS source's error to report; identity then falls back to Istio's files.
    }
  }
  const choice = chooseIdentityFiles(options.identity, providers);
  return choice === undefined ? undefined : WorkloadIdentity.load(choice.files, choice.source);
}

/** Istio's source_principal label of outbound calls defaults to this workload's SPIFFE id. */
function withPrincipal(telemetry: TelemetryOptions | undefined, principal: string | undefined): TelemetryOptions | undefined {
  const metrics = telemetry?.metrics;
  if (principal === undefined || metrics === undefined || typeof metrics === 'boolean' || metrics.istio === undefined || metrics.istio.principal !== undefined) return telemetry;
  return { ...telemetry, metrics: { ...metrics, istio: { ...metrics.istio, principal } } };
}

