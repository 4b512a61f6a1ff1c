// IstioLabels: the label sets of Istio's standard metrics for a call. They
// depend only on the reporter, the local workload, the peer workload (from
// the metadata exchange), the destination (the cluster outbound, the served
// service inbound), the response code and flags, so each set is built once
// and reused: recording an Istio sample allocates no label set.
import type { Attributes } from '@opentelemetry/api';
import type { Call } from '../filters/call';
import type { PeerWorkload, WorkloadMetadata } from './peer-metadata';
import type { IstioOptions } from './telemetry-options';
import { workloadMetadata } from './workload-metadata';

const UNKNOWN = 'unknown';
// Past this many label sets (ALLOW_ANY traffic to many hosts, many peers), sets are built per call instead of kept.
const MAX_CACHED = 4096;

interface Workload {
  workload: string;
  namespace: string;
  app: string;
  version: string;
  canonicalService: string;
  canonicalRevision: string;
  cluster: string;
}

const UNKNOWN_WORKLOAD: Workload = Object.freeze({
  workload: UNKNOWN,
  namespace: UNKNOWN,
  app: UNKNOWN,
  version: UNKNOWN,
  canonicalService: UNKNOWN,
  canonicalRevision: UNKNOWN,
  cluster: UNKNOWN,
});

/** What a finished call adds to its destination: outcome, Envoy's response flags, and the peer if one said who it is. */
export interface IstioOutcome {
  readonly ok: boolean;
  readonly responseFlags: string;
  readonly peer: PeerWorkload | undefined;
}

export class IstioLabels {
  private readonly local: Workload;
  private readonly inboundService: string | undefined;
  /** This workload's SPIFFE id (source_principal outbound, destination_principal inbound). */
  private readonly principal: string;
  private readonly cache = new Map<string, Attributes>();
  private readonly peerWorkloads = new WeakMap<PeerWorkload, Workload>();

  constructor(options: IstioOptions) {
    this.local = workloadOf(workloadMetadata(options.nodeMetadata));
    this.inboundService = options.inboundService;
    this.principal = options.principal ?? UNKNOWN;
  }

  /** The labels of `call` with its outcome. */
  labels(call: Call, outcome: IstioOutcome): Attributes {
    const outbound = call.direction === 'outbound';
    // Inbound sets also differ by the caller's verified principal (few per server: the services that call it).
    const base = outbound ? (call.cluster ?? `|||${call.service.host}`) : `in|${call.service.host}|${call.peer?.principal ?? ''}`;
    const key = `${base}|${call.codec.protocol}|${outcome.peer?.id ?? 0}|${outcome.ok ? 0 : 1}|${outcome.responseFlags}`;
    let labels = this.cache.get(key);
    if (labels === undefined) {
      labels = this.build(call, outbound, outcome);
      if (this.cache.size < MAX_CACHED) this.cache.set(key, labels);
    }
    return labels;
  }

  private build(call: Call, outbound: boolean, outcome: IstioOutcome): Attributes {
    let source: Workload;
    let destination: Workload;
    let service: string;
    const peer = outcome.peer === undefined ? undefined : this.peerWorkload(outcome.peer);
    if (outbound) {
      // Without the server's metadata, the destination is what the cluster name says.
      const target = parseClusterName(call.cluster) ?? { host: call.service.host, subset: '' };
      service = target.host;
      source = this.local;
      destination = peer ?? { ...UNKNOWN_WORKLOAD, namespace: namespaceOf(target.host), version: target.subset || UNKNOWN };
    } else {
      service = this.inboundService ?? (call.service.host.startsWith('inbound|') ? UNKNOWN : call.service.host);
      source = peer ?? UNKNOWN_WORKLOAD;
      destination = this.local;
    }
    return Object.freeze({
      reporter: outbound ? 'source' : 'destination',
      source_workload: source.workload,
      source_workload_namespace: source.namespace,
      // Principals come from certificates (ours, and the caller's verified one), never from what a peer says about itself.
      source_principal: outbound ? this.principal : callerPrincipal(call),
      source_app: source.app,
      source_version: source.version,
      source_canonical_service: source.canonicalService,
      source_canonical_revision: source.canonicalRevision,
      source_cluster: source.cluster,
      destination_workload: destination.workload,
      destination_workload_namespace: destination.namespace,
      destination_principal: outbound ? UNKNOWN : this.principal,
      destination_service: service,
      destination_service_name: service === UNKNOWN ? UNKNOWN : shortName(service),
      destination_service_namespace: service === UNKNOWN ? UNKNOWN : namespaceOf(service),
      destination_app: destination.app,
      destination_version: destination.version,
      destination_canonical_service: destination.canonicalService,
      destination_canonical_revision: destination.canonicalRevision,
      destination_cluster: destination.cluster,
      request_protocol: call.codec.protocol,
      response_code: outcome.ok ? '0' : '1',
      response_flags: outcome.responseFlags,
      // As Istio reports it: unknown on the source side; on the destination side, mutual_tls or none.
      connection_security_policy: outbound ? UNKNOWN : call.peer?.principal === undefined ? 'none' : 'mutual_tls',
    });
  }

  private peerWorkload(peer: PeerWorkload): Workload {
    let w = this.peerWorkloads.get(peer);
    if (w === undefined) {
      w = workloadOf(peer.metadata);
      this.peerWorkloads.set(peer, w);
    }
    return w;
  }
}

/** The caller's verified SPIFFE id, as Istio writes principals in labels. */
function callerPrincipal(call: Call): string {
  return call.peer?.principal === undefined ? UNKNOWN : `spiffe://${call.peer.principal}`;
}

function workloadOf(node: WorkloadMetadata | undefined): Workload {
  const labels = node?.LABELS ?? {};
  const app = labels['app'] ?? labels['app.kubernetes.io/name'] ?? UNKNOWN;
  const version = labels['version'] ?? labels['app.kubernetes.io/version'] ?? UNKNOWN;
  const workload = node?.WORKLOAD_NAME ?? UNKNOWN;
  return {
    workload,
    namespace: node?.NAMESPACE ?? UNKNOWN,
    app,
    version,
    canonicalService: labels['service.istio.io/canonical-name'] ?? (app !== UNKNOWN ? app : workload),
    canonicalRevision: labels['service.istio.io/canonical-revision'] ?? (version !== UNKNOWN ? version : 'latest'),
    cluster: node?.CLUSTER_ID ?? UNKNOWN,
  };
}

/** `outbound|<port>|<subset>|<host>` → host and subset. */
function parseClusterName(cluster: string | undefined): { host: string; subset: string } | undefined {
  if (cluster === undefined) return undefined;
  const parts = cluster.split('|');
  if (parts.length !== 4 || parts[3] === '') return undefined;
  return { host: parts[3]!, subset: parts[2]! };
}

/** The namespace of a Kubernetes service host `<name>.<namespace>.svc[.<domain>]`. */
function namespaceOf(host: string): string {
  const parts = host.split('.');
  return parts.length >= 3 && parts[2] === 'svc' ? parts[1]! : UNKNOWN;
}

/** What Istio's stats call the service name: the host up to its first dot. */
function shortName(host: string): string {
  const dot = host.indexOf('.');
  return dot < 0 ? host : host.slice(0, dot);
}
