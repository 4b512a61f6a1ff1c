// ControlPlaneServer: a local control plane for development and tests. It
// serves MetaRDS as Aeraki does (RDS, one RouteConfiguration per service port)
// and CDS/EDS over ADS as istiod does, all built from the same ServiceEntry /
// DestinationRule / MetaRouter YAML the static mode reads, and pushes a new
// version when the files change. Both xDS variants are served: state of the
// world (StreamRoutes, StreamAggregatedResources) and incremental
// (DeltaRoutes, DeltaAggregatedResources, see delta-client-stream.ts). A
// resource's own version is a digest of its bytes, so a delta client is sent
// only the resources that changed, and the versions a client held before a
// restart of this server still say truly whether it has the same bytes.
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import * as tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { loadConfigFiles } from '../config';
import type { Snapshot } from '../config/model';
import { ConfigWatcher } from '../config/config-watcher';
import { MeshError, MeshErrorCode } from '../protocol';
import { DeltaClientStream } from './delta-client-stream';
import type { AnyResource, DeltaDiscoveryRequestProto, DiscoveryRequestProto, DiscoveryResponseProto, NodeProto } from './envoy-types';
import { resourcesFromSnapshot } from './resources-from-snapshot';
import { TYPE_CDS, TYPE_EDS, TYPE_LDS, TYPE_RDS, XDS_TYPE_URLS, XdsTypeUrl, isXdsTypeUrl } from './type-urls';
import { packResource, xdsProtos } from './xds-protos';

export interface ControlPlaneOptions {
  /** YAML manifests (files or directories). */
  config?: string | readonly string[] | undefined;
  /** A ready snapshot instead of files. */
  snapshot?: Snapshot | undefined;
  /** Port to listen on (default 15010, Aeraki's); 0 picks a free one. */
  port?: number | undefined;
  /** Address to bind (default 0.0.0.0). */
  host?: string | undefined;
  /** Push a new version when a config file changes (default true with `config`). */
  watch?: boolean | undefined;
  /** Serve TLS (PEM certificate chain and its key); with `ca`, also require client certificates signed by it (mutual TLS, as Aeraki does since PR #401). */
  tls?: { cert: Buffer; key: Buffer; ca?: Buffer | undefined } | undefined;
  /** Where problems go (default console.warn). */
  logger?: ((message: string) => void) | undefined;
}

export interface ControlPlaneEvents {
  /** Every DiscoveryRequest (or DeltaDiscoveryRequest, on a delta stream) received, with the stream's node. */
  request: [request: DiscoveryRequestProto | DeltaDiscoveryRequestProto, node: NodeProto | undefined];
  /** A client refused a response (a DiscoveryRequest with error_detail). */
  nack: [typeUrl: string, message: string, node: NodeProto | undefined];
}

interface TypeState {
  version: string;
  resources: Map<string, AnyResource>;
  /** Per resource, its own version: a digest of its bytes. */
  versions: Map<string, string>;
}

interface StreamSub {
  names: string[] | undefined;
  sentVersion: string | undefined;
  nonce: string;
}

interface ClientStream {
  readonly call: grpc.ServerDuplexStream<DiscoveryRequestProto, DiscoveryResponseProto>;
  readonly types: readonly XdsTypeUrl[];
  readonly subs: Map<XdsTypeUrl, StreamSub>;
  node?: NodeProto;
}

export class ControlPlaneServer extends EventEmitter<ControlPlaneEvents> {
  private readonly server = new grpc.Server({ 'grpc.max_receive_message_length': -1, 'grpc.max_send_message_length': -1 });
  private readonly state = new Map<XdsTypeUrl, TypeState>(XDS_TYPE_URLS.map((t) => [t, { version: '', resources: new Map(), versions: new Map() }]));
  private readonly streams = new Set<ClientStream>();
  private readonly deltaStreams = new Set<DeltaClientStream>();
  private watcher: ConfigWatcher | undefined;
  private lastVersion = 0;
  private nonce = 0;
  private boundPort = 0;
  private current: Snapshot | undefined;
  /**
   * Encodings and digests by object: a caller that passes the same object again
   * for a resource it did not change (setRawResources) costs no encoding, so a
   * one-resource change costs one resource, however many are served.
   */
  private readonly packed = new WeakMap<object, AnyResource>();
  private readonly digests = new WeakMap<AnyResource, string>();

  static async start(options: ControlPlaneOptions = {}): Promise<ControlPlaneServer> {
    const paths = options.config === undefined ? [] : typeof options.config === 'string' ? [options.config] : [...options.config];
    const snapshot = options.snapshot ?? (paths.length > 0 ? await loadConfigFiles(paths) : undefined);
    const cp = new ControlPlaneServer(options);
    if (snapshot !== undefined) cp.setSnapshot(snapshot);
    await cp.listen(options.host ?? '0.0.0.0', options.port ?? 15010, options.tls);
    if (paths.length > 0 && options.watch !== false) {
      cp.watcher = new ConfigWatcher(paths, (s) => cp.setSnapshot(s), (e) => cp.log(`meta-mesh control plane: config not pushed, the previous one stays:\n${e.message}`));
      cp.watcher.start();
    }
    return cp;
  }

  private constructor(private readonly options: ControlPlaneOptions) {
    super();
    const protos = xdsProtos();
    this.server.addService(protos.rds, {
      StreamRoutes: (call: ClientStream['call']) => this.serve(call, [TYPE_RDS]),
      DeltaRoutes: (call: DeltaClientStream['call']) => this.serveDelta(call, [TYPE_RDS]),
    });
    this.server.addService(protos.ads, {
      StreamAggregatedResources: (call: ClientStream['call']) => this.serve(call, XDS_TYPE_URLS),
      DeltaAggregatedResources: (call: DeltaClientStream['call']) => this.serveDelta(call, XDS_TYPE_URLS),
    });
  }

  get port(): number {
    return this.boundPort;
  }

  /** The snapshot last pushed with setSnapshot (or read from the files). */
  get snapshot(): Snapshot | undefined {
    return this.current;
  }

  /** Serves `snapshot` as new versions of all three types and pushes it to every subscriber. */
  setSnapshot(snapshot: Snapshot): void {
    this.current = snapshot;
    const r = resourcesFromSnapshot(snapshot);
    const version = this.nextVersion();
    this.replace(TYPE_RDS, version, r.routeConfigurations.map((x) => [x.name as string, packResource(TYPE_RDS, x)]));
    this.replace(TYPE_CDS, version, r.clusters.map((x) => [x.name as string, packResource(TYPE_CDS, x)]));
    this.replace(TYPE_EDS, version, r.assignments.map((x) => [x.cluster_name as string, packResource(TYPE_EDS, x)]));
  }

  /**
   * Replaces the resources of one type and pushes them as a new version. Each
   * is an object in the decoded proto shape (encoded here, keyed by its name)
   * or a ready Any with a `name` beside it, to serve bytes as they are (e.g. ones that do not decode).
   */
  setRawResources(typeUrl: XdsTypeUrl, resources: readonly (object | (AnyResource & { name: string }))[]): string {
    const version = this.nextVersion();
    this.replace(
      typeUrl,
      version,
      resources.map((r) => {
        if ('type_url' in r && 'value' in r) return [(r as { name: string }).name, { type_url: r.type_url, value: r.value }];
        const o = r as { name?: string; cluster_name?: string };
        if (typeUrl === TYPE_LDS) throw new MeshError(MeshErrorCode.CONFIG, 'listeners are served as raw resources only: pass {name, type_url, value}');
        let any = this.packed.get(r);
        if (any === undefined) this.packed.set(r, (any = packResource(typeUrl, r)));
        return [o.name ?? o.cluster_name ?? '', any];
      }),
    );
    return version;
  }

  /** The version being served for a type. */
  version(typeUrl: XdsTypeUrl): string {
    return (this.state.get(typeUrl) as TypeState).version;
  }

  /** The resources served for a type, decoded. */
  resources(typeUrl: Exclude<XdsTypeUrl, typeof TYPE_LDS>): object[] {
    const codec = xdsProtos().codecs[typeUrl];
    return [...(this.state.get(typeUrl) as TypeState).resources.values()].map((a) => codec.decode(Buffer.from(a.value)) as object);
  }

  /** Stops watching, ends every stream and stops listening. */
  async close(): Promise<void> {
    this.watcher?.close();
    for (const s of this.streams) s.call.end();
    this.streams.clear();
    for (const s of this.deltaStreams) s.call.end();
    this.deltaStreams.clear();
    // grpc-js waits for every socket to close, and one that never became an
    // HTTP/2 session (a TLS hello sent to a plaintext port) never does: wait a moment, then cut.
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, CLOSE_GRACE_MS);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    this.server.forceShutdown();
  }

  private async listen(host: string, port: number, options: ControlPlaneOptions['tls']): Promise<void> {
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new MeshError(MeshErrorCode.CONFIG, `control plane port must be a whole number from 0 to 65535 (0 picks a free one), not ${port}`);
    }
    if (options !== undefined) checkTls(options);
    const creds =
      options === undefined
        ? grpc.ServerCredentials.createInsecure()
        : grpc.ServerCredentials.createSsl(options.ca ?? null, [{ cert_chain: options.cert, private_key: options.key }], options.ca !== undefined);
    const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    this.boundPort = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync(address, creds, (err, bound) =>
        err === null ? resolve(bound) : reject(new MeshError(MeshErrorCode.CONFIG, `control plane cannot listen on ${address}: ${err.message}; pick a free port`)),
      ),
    );
  }

  /** Aeraki's version is the build time in seconds; kept increasing so two pushes in one second still differ. */
  private nextVersion(): string {
    this.lastVersion = Math.max(this.lastVersion + 1, Math.floor(Date.now() / 1000));
    return String(this.lastVersion);
  }

  private replace(typeUrl: XdsTypeUrl, version: string, entries: readonly (readonly [string, AnyResource])[]): void {
    const state = this.state.get(typeUrl) as TypeState;
    const versions = new Map<string, string>();
    for (const [name, any] of entries) {
      let digest = this.digests.get(any);
      if (digest === undefined) this.digests.set(any, (digest = createHash('sha256').update(any.value).digest('base64url').slice(0, 22)));
      versions.set(name, digest);
    }
    state.version = version;
    state.resources = new Map(entries);
    state.versions = versions;
    for (const stream of this.streams) {
      const sub = stream.subs.get(typeUrl);
      if (sub !== undefined) this.respond(stream, typeUrl, sub);
    }
    for (const stream of this.deltaStreams) stream.push(typeUrl);
  }

  private serveDelta(call: DeltaClientStream['call'], types: readonly XdsTypeUrl[]): void {
    const stream = new DeltaClientStream(call, types, {
      served: (typeUrl) => this.state.get(typeUrl) as TypeState,
      nextNonce: () => String(++this.nonce),
      request: (request, node) => this.emit('request', request, node),
      nack: (typeUrl, message, node) => this.emit('nack', typeUrl, message, node),
    });
    this.deltaStreams.add(stream);
    const drop = () => this.deltaStreams.delete(stream);
    call.on('data', (request: DeltaDiscoveryRequestProto) => stream.onRequest(request));
    call.on('end', () => {
      drop();
      call.end();
    });
    call.on('error', drop);
    call.on('cancelled', drop);
  }

  private serve(call: ClientStream['call'], types: readonly XdsTypeUrl[]): void {
    const stream: ClientStream = { call, types, subs: new Map() };
    this.streams.add(stream);
    const drop = () => this.streams.delete(stream);
    call.on('data', (request: DiscoveryRequestProto) => this.onRequest(stream, request));
    call.on('end', () => {
      drop();
      call.end();
    });
    call.on('error', drop);
    call.on('cancelled', drop);
  }

  private onRequest(stream: ClientStream, request: DiscoveryRequestProto): void {
    if (request.node !== undefined && stream.node === undefined) stream.node = request.node;
    this.emit('request', request, stream.node);
    const typeUrl = request.type_url ?? '';
    if (!isXdsTypeUrl(typeUrl) || !stream.types.includes(typeUrl)) return;
    const sub = stream.subs.get(typeUrl);
    // A reply to an older response crossed a newer one on the wire: the newer one will be answered.
    if (sub !== undefined && request.response_nonce && request.response_nonce !== sub.nonce) return;
    if (request.error_detail !== undefined && request.error_detail !== null) {
      this.emit('nack', typeUrl, request.error_detail.message ?? '', stream.node);
    }
    const names = (request.resource_names ?? []).length === 0 ? undefined : [...(request.resource_names as string[])].sort();
    if (sub === undefined) {
      const fresh: StreamSub = { names, sentVersion: undefined, nonce: '' };
      stream.subs.set(typeUrl, fresh);
      this.respond(stream, typeUrl, fresh);
      return;
    }
    const changed = (sub.names === undefined) !== (names === undefined) || (sub.names !== undefined && sub.names.join('\n') !== names!.join('\n'));
    sub.names = names;
    if (changed) this.respond(stream, typeUrl, sub);
  }

  private respond(stream: ClientStream, typeUrl: XdsTypeUrl, sub: StreamSub): void {
    const state = this.state.get(typeUrl) as TypeState;
    const resources: AnyResource[] = [];
    if (sub.names === undefined) for (const a of state.resources.values()) resources.push(a);
    else for (const n of sub.names) {
      const a = state.resources.get(n);
      if (a !== undefined) resources.push(a);
    }
    sub.nonce = String(++this.nonce);
    sub.sentVersion = state.version;
    stream.call.write({ version_info: state.version, resources, type_url: typeUrl, nonce: sub.nonce, control_plane: { identifier: 'meta-mesh' } });
  }

  private log(message: string): void {
    (this.options.logger ?? console.warn)(message);
  }
}

const CLOSE_GRACE_MS = 1000;

/** grpc-js only finds bad TLS material when binding, and then reads like a port problem; check it first. */
function checkTls(options: NonNullable<ControlPlaneOptions['tls']>): void {
  try {
    tls.createSecureContext({ cert: options.cert, key: options.key, ...(options.ca === undefined ? {} : { ca: options.ca }) });
  } catch (err) {
    throw new MeshError(
      MeshErrorCode.CONFIG,
      `control plane tls: the certificate, key or CA cannot be used (${(err as Error).message}); give PEM files, with the private key that belongs to the certificate`,
      { cause: err },
    );
  }
}
