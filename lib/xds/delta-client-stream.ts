// One incremental (delta) xDS stream as the local control plane serves it
// (DeltaAggregatedResources, DeltaRoutes). Per type it keeps what the client
// subscribed to (names, or wildcard when the type's first request names none
// or names '*') and which version of each resource the client holds, starting
// from the request's initial_resource_versions. Every response carries only
// what differs: resources whose version the client does not hold, and in
// removed_resources the names it holds that are gone, or a name it asked for
// that does not exist (said once, until the resource appears).
import type * as grpc from '@grpc/grpc-js';
import type { AnyResource, DeltaDiscoveryRequestProto, DeltaDiscoveryResponseProto, DeltaResourceProto, NodeProto } from './envoy-types';
import { XdsTypeUrl, isXdsTypeUrl } from './type-urls';

/** What the control plane serves of one type: each resource with its own version. */
export interface ServedType {
  readonly resources: ReadonlyMap<string, AnyResource>;
  readonly versions: ReadonlyMap<string, string>;
  readonly version: string;
}

interface DeltaTypeSub {
  wildcard: boolean;
  readonly names: Set<string>;
  /** Version of each resource the client holds. */
  readonly held: Map<string, string>;
  /** Names asked for that the client was told do not exist. */
  readonly toldAbsent: Set<string>;
}

export interface DeltaStreamHooks {
  served(typeUrl: XdsTypeUrl): ServedType;
  nextNonce(): string;
  request(request: DeltaDiscoveryRequestProto, node: NodeProto | undefined): void;
  nack(typeUrl: string, message: string, node: NodeProto | undefined): void;
}

const WILDCARD = '*';

export class DeltaClientStream {
  node: NodeProto | undefined;
  private readonly subs = new Map<XdsTypeUrl, DeltaTypeSub>();

  constructor(
    readonly call: grpc.ServerDuplexStream<DeltaDiscoveryRequestProto, DeltaDiscoveryResponseProto>,
    private readonly types: readonly XdsTypeUrl[],
    private readonly hooks: DeltaStreamHooks,
  ) {}

  onRequest(request: DeltaDiscoveryRequestProto): void {
    if (request.node != null && this.node === undefined) this.node = request.node;
    this.hooks.request(request, this.node);
    const typeUrl = request.type_url ?? '';
    if (!isXdsTypeUrl(typeUrl) || !this.types.includes(typeUrl)) return;
    if (request.response_nonce && request.error_detail != null) this.hooks.nack(typeUrl, request.error_detail.message ?? '', this.node);
    const subscribe = request.resource_names_subscribe ?? [];
    const unsubscribe = request.resource_names_unsubscribe ?? [];
    let sub = this.subs.get(typeUrl);
    const first = sub === undefined;
    if (sub === undefined) {
      sub = {
        wildcard: subscribe.length === 0 || subscribe.includes(WILDCARD),
        names: new Set(),
        held: new Map(Object.entries(request.initial_resource_versions ?? {})),
        toldAbsent: new Set(),
      };
      this.subs.set(typeUrl, sub);
    }
    for (const name of subscribe) if (name === WILDCARD) sub.wildcard = true;
    else sub.names.add(name);
    for (const name of unsubscribe) {
      if (name === WILDCARD) sub.wildcard = false;
      else {
        sub.names.delete(name);
        // Asked for again later, it is sent again.
        sub.held.delete(name);
        sub.toldAbsent.delete(name);
      }
    }
    // An ACK or NACK alone changes nothing to send; a first request is always answered.
    if (first || subscribe.length > 0 || unsubscribe.length > 0) this.push(typeUrl, first);
  }

  /** Sends what the client lacks of a type it subscribed to (`always`: even when that is nothing). */
  push(typeUrl: XdsTypeUrl, always = false): void {
    const sub = this.subs.get(typeUrl);
    if (sub === undefined) return;
    const served = this.hooks.served(typeUrl);
    const resources: DeltaResourceProto[] = [];
    const removed: string[] = [];
    const consider = (name: string): void => {
      const any = served.resources.get(name);
      const wanted = sub.wildcard || sub.names.has(name);
      if (any !== undefined && wanted) {
        sub.toldAbsent.delete(name);
        const version = served.versions.get(name) ?? served.version;
        if (sub.held.get(name) === version) return;
        sub.held.set(name, version);
        resources.push({ name, version, resource: any });
      } else if (sub.held.delete(name)) {
        if (wanted) removed.push(name);
        if (sub.names.has(name)) sub.toldAbsent.add(name);
      } else if (sub.names.has(name) && !sub.toldAbsent.has(name)) {
        sub.toldAbsent.add(name);
        removed.push(name);
      }
    };
    const seen = new Set<string>();
    const visit = (name: string) => {
      if (seen.has(name)) return;
      seen.add(name);
      consider(name);
    };
    if (sub.wildcard) for (const name of served.resources.keys()) visit(name);
    for (const name of sub.names) visit(name);
    for (const name of [...sub.held.keys()]) visit(name);
    if (!always && resources.length === 0 && removed.length === 0) return;
    this.call.write({
      system_version_info: served.version,
      resources,
      type_url: typeUrl,
      removed_resources: removed,
      nonce: this.hooks.nextNonce(),
      control_plane: { identifier: 'meta-mesh' },
    });
  }
}
