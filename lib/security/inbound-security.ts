// InboundSecurity: the mesh's side of inbound security. It knows which
// workload this process is (namespace, labels), compiles the snapshot's
// authorization policies for it once per snapshot, and keeps the counters
// and the (rate-bounded) log of decisions across snapshots.
import type { Snapshot } from '../config/model';
import type { SecurityPolicies } from '../config/security-model';
import type { DownstreamCredentials, DownstreamTlsPolicy } from '../downstream/accept-downstream-socket';
import { mtlsModeFor, type EffectiveMtlsMode } from './peer-authentication';
import type { WorkloadIdentity } from './workload-identity';
import type { Filter } from '../filters/call';
import { createAuthorizationFilter, type AuthorizationStats } from './authorization-filter';
import { Authorizer, type AuthzWorkload } from './authorizer';

export interface WorkloadOptions {
  /** The namespace policies are chosen for (default: the workload identity's, else POD_NAMESPACE, else `default`). */
  namespace?: string;
  /** The workload's labels, matched by `selector.matchLabels`. */
  labels?: Readonly<Record<string, string>>;
  /** Istio's root namespace, whose policies apply to every workload (default `istio-system`). */
  rootNamespace?: string;
}

/** Log lines about decisions, at most this many per second (the rest are counted and summarised). */
const LOG_LINES_PER_SECOND = 5;

export class InboundSecurity implements DownstreamTlsPolicy {
  readonly stats: AuthorizationStats = { allowed: 0, denied: 0, audited: 0 };
  /** Connections refused by PeerAuthentication (plaintext on STRICT, failed handshakes). */
  readonly tlsStats = { refused: 0 };
  private readonly modes = new WeakMap<SecurityPolicies, Map<number, EffectiveMtlsMode>>();
  private readonly filters = new WeakMap<SecurityPolicies, Filter | null>();
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
  ) {}

  modeFor(port: number): EffectiveMtlsMode {
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
    };
  }

  /** The authorization filter of a snapshot, compiled on first use; undefined when no policy applies here. */
  authorizationFilter(snapshot: Snapshot): Filter | undefined {
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
