// InboundSecurity: the mesh's side of inbound security. It knows which
// workload this process is (namespace, labels), compiles the snapshot's
// authorization policies for it once per snapshot, and keeps the counters
// and the (rate-bounded) log of decisions across snapshots.
import type { Snapshot } from '../config/model';
import type { InboundListenerModel, SecurityPolicies } from '../config/security-model';
import type { DownstreamCredentials, DownstreamTlsPolicy } from '../downstream/accept-downstream-socket';
import { mtlsModeFor, type EffectiveMtlsMode } from './peer-authentication';
import type { WorkloadIdentity } from './workload-identity';
import type { Filter } from '../filters/call';
import { createAuthorizationFilter, type AuthorizationStats } from './authorization-filter';
import { Authorizer, type AuthzDecision, type AuthzRequest, type AuthzWorkload } from './authorizer';
import { RbacAuthorizer } from './rbac-authorizer';

/**
 * gRPC A36 xDS-enabled servers: the control plane's inbound listener for a port (istiod:
 * `xds.istio.io/grpc/lds/inbound/<ip>:<port>`) decides its mTLS mode and its authorization.
 */
export interface XdsInboundListeners {
  /** The listener name for a server bound to `host:port`, or undefined when servers are not xDS-enabled. */
  nameFor(host: string, port: number): string | undefined;
  /** Asks the control plane for `name`. */
  watch(name: string): void;
  /** The last good version of `name`, or undefined (not sent yet, removed, or never valid). */
  get(name: string): InboundListenerModel | undefined;
}

export interface WorkloadOptions {
  /** The namespace policies are chosen for (default: the workload identity's, else POD_NAMESPACE, else `default`). */
  namespace?: string | undefined;
  /** The workload's labels, matched by `selector.matchLabels`. */
  labels?: Readonly<Record<string, string>> | undefined;
  /** Istio's root namespace, whose policies apply to every workload (default `istio-system`). */
  rootNamespace?: string | undefined;
}

/** Log lines about decisions, at most this many per second (the rest are counted and summarised). */
const LOG_LINES_PER_SECOND = 5;

export class InboundSecurity implements DownstreamTlsPolicy {
  readonly stats: AuthorizationStats = { allowed: 0, denied: 0, audited: 0 };
  /** Connections refused by PeerAuthentication (plaintext on STRICT, failed handshakes). */
  readonly tlsStats = { refused: 0 };
  private readonly modes = new WeakMap<SecurityPolicies, Map<number, EffectiveMtlsMode>>();
  private readonly filters = new WeakMap<SecurityPolicies, Filter | null>();
  private xdsInbound: XdsInboundListeners | undefined;
  /** Inbound listener name of each port a server listens on (xDS-enabled servers only). */
  private readonly listenerNames = new Map<number, string>();
  private readonly rbac = new WeakMap<InboundListenerModel, RbacAuthorizer>();
  private xdsFilter: Filter | undefined;
  private namespaceFromIdentity: string | undefined;
  private windowStart = 0;
  private linesInWindow = 0;
  private suppressed = 0;

  constructor(
    private readonly options: WorkloadOptions = {},
    private readonly log: (message: string) => void,
    private readonly snapshot: () => Snapshot,
    private readonly identity: () => WorkloadIdentity | undefined,
    private readonly env: NodeJS.ProcessEnv = process.env,
    /** The mesh's trust domain (policies' `cluster.local` principals stand for it). */
    private readonly trustDomain: () => string = () => 'cluster.local',
  ) {}

  /** Servers take their mTLS mode and authorization from the control plane's inbound listeners from now on. */
  useXdsInbound(listeners: XdsInboundListeners): void {
    this.xdsInbound = listeners;
  }

  /** A server bound `host:port`: with xDS-enabled servers, its inbound listener is asked for. */
  listening(host: string, port: number): void {
    const name = this.xdsInbound?.nameFor(host, port);
    if (name === undefined) return;
    this.listenerNames.set(port, name);
    this.xdsInbound!.watch(name);
  }

  /** Why connections on `port` are refused outright (an xDS-enabled server without a valid inbound listener), else undefined. */
  notServing(port: number): string | undefined {
    const name = this.listenerNames.get(port);
    if (name === undefined || this.xdsInbound?.get(name) !== undefined) return undefined;
    return `the control plane has sent no valid inbound listener ${name} yet (an xDS-enabled server does not serve without one, as gRPC A36)`;
  }

  modeFor(port: number): EffectiveMtlsMode {
    const name = this.listenerNames.get(port);
    if (name !== undefined) return this.xdsInbound?.get(name)?.mode ?? 'STRICT';
    const policies = this.snapshot().security;
    // Istio's default is PERMISSIVE; without a certificate that is plaintext only, so nothing is sniffed.
    if (policies === undefined || policies.peerAuthentications.length === 0) return this.identity() === undefined ? 'DISABLE' : 'PERMISSIVE';
    let byPort = this.modes.get(policies);
    if (byPort === undefined) {
      byPort = new Map();
      this.modes.set(policies, byPort);
    }
    let mode = byPort.get(port);
    if (mode === undefined) {
      mode = mtlsModeFor(policies.peerAuthentications, this.workload, port);
      byPort.set(port, mode);
    }
    return mode;
  }

  credentials(): DownstreamCredentials | undefined {
    return this.identity()?.material;
  }

  refused(reason: string, remote: string, port: number): void {
    this.tlsStats.refused++;
    this.bounded(`meta-mesh: refused a connection from ${remote || 'an unknown peer'} on port ${port}: ${reason}`);
  }

  /** The workload identity's namespace, used when `workload.namespace` is not given. */
  setIdentityNamespace(namespace: string | undefined): void {
    this.namespaceFromIdentity = namespace;
  }

  get workload(): AuthzWorkload {
    return {
      namespace: this.options.namespace ?? this.namespaceFromIdentity ?? nonEmpty(this.env.POD_NAMESPACE) ?? 'default',
      labels: this.options.labels ?? {},
      rootNamespace: this.options.rootNamespace ?? 'istio-system',
      trustDomain: this.trustDomain(),
    };
  }

  /** The authorization filter of a snapshot, compiled on first use; undefined when no policy applies here. */
  authorizationFilter(snapshot: Snapshot): Filter | undefined {
    if (this.xdsInbound !== undefined) return (this.xdsFilter ??= this.createXdsFilter());
    const policies = snapshot.security;
    if (policies === undefined) return undefined;
    let filter = this.filters.get(policies);
    if (filter === undefined) {
      const authorizer = Authorizer.compile(policies.authorizationPolicies, this.workload);
      filter = authorizer.isEmpty ? null : createAuthorizationFilter(authorizer, { stats: this.stats, log: (m) => this.bounded(m) });
      this.filters.set(policies, filter);
    }
    return filter ?? undefined;
  }

  /** Authorization by the RBAC of the call's port's inbound listener (its version in force at the call); none in force denies. */
  private createXdsFilter(): Filter {
    const byPort = {
      check: (r: AuthzRequest): AuthzDecision => {
        const name = this.listenerNames.get(r.port);
        const listener = name === undefined ? undefined : this.xdsInbound?.get(name);
        if (listener === undefined) return { allowed: false, policy: `no inbound listener from the control plane for port ${r.port}` };
        let authorizer = this.rbac.get(listener);
        if (authorizer === undefined) {
          authorizer = new RbacAuthorizer(listener.rbac, listener.name);
          this.rbac.set(listener, authorizer);
        }
        return authorizer.check(r);
      },
    };
    return createAuthorizationFilter(byPort, { stats: this.stats, log: (m) => this.bounded(m) });
  }

  private bounded(message: string): void {
    const now = Date.now();
    if (now - this.windowStart >= 1000) {
      if (this.suppressed > 0) this.log(`meta-mesh: ${this.suppressed} more authorization log lines in the last second were left out`);
      this.windowStart = now;
      this.linesInWindow = 0;
      this.suppressed = 0;
    }
    if (this.linesInWindow < LOG_LINES_PER_SECOND) {
      this.linesInWindow++;
      this.log(message);
    } else this.suppressed++;
  }
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}
