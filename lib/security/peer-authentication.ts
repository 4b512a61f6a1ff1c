// PeerAuthentication → the mTLS mode of one server port, as Istio resolves it:
// the workload's own policy (selector, same namespace) over the namespace's
// policy (no selector) over the mesh-wide one (root namespace, no selector),
// UNSET inheriting from the level above, the default PERMISSIVE; then the
// workload policy's portLevelMtls for the port. The oldest policy of a level
// wins in Istio; here, the first one read (documents in file order).
import type { MtlsMode, PeerAuthenticationPolicy } from '../config/security-model';
import type { AuthzWorkload } from './authorizer';

export type EffectiveMtlsMode = Exclude<MtlsMode, 'UNSET'>;

export function mtlsModeFor(policies: readonly PeerAuthenticationPolicy[], workload: AuthzWorkload, port: number): EffectiveMtlsMode {
  const meshWide = policies.find((p) => p.namespace === workload.rootNamespace && p.selector === undefined);
  const namespaceWide = policies.find((p) => p.namespace === workload.namespace && p.selector === undefined);
  const own = policies.find((p) => p.namespace === workload.namespace && p.selector !== undefined && selects(p.selector, workload.labels));
  let mode: EffectiveMtlsMode = 'PERMISSIVE';
  for (const p of [meshWide, namespaceWide, own]) if (p !== undefined && p.mode !== 'UNSET') mode = p.mode;
  const portMode = own?.portLevel.get(port);
  if (portMode !== undefined && portMode !== 'UNSET') mode = portMode;
  return mode;
}

function selects(selector: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>>): boolean {
  for (const [k, v] of Object.entries(selector)) if (!Object.hasOwn(labels, k) || labels[k] !== v) return false;
  return true;
}
