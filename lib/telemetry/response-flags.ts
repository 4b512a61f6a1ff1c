// Envoy's %RESPONSE_FLAGS% short names for the reasons meta-mesh answers a
// call itself, so log queries written for sidecars (`UH`, `UO`, `NR`...)
// find the same events here; Istio's response_flags label uses them too.
import { MeshErrorCode } from '../protocol/mesh-error';

const FLAGS: Readonly<Record<string, string>> = {
  [MeshErrorCode.NO_ROUTE]: 'NR',
  [MeshErrorCode.UNKNOWN_CLUSTER]: 'NC',
  [MeshErrorCode.NO_HEALTHY_UPSTREAM]: 'UH',
  [MeshErrorCode.OVER_LIMIT]: 'RL',
  // Envoy reports circuit-breaker overflow as UO, whichever threshold tripped.
  [MeshErrorCode.OVERFLOW]: 'UO',
  [MeshErrorCode.CIRCUIT_OPEN]: 'UO',
  [MeshErrorCode.TIMEOUT]: 'UT',
  [MeshErrorCode.CODEC]: 'UPE',
  [MeshErrorCode.UPSTREAM_RESET]: 'UR',
  [MeshErrorCode.CONNECT_FAILURE]: 'UF',
  [MeshErrorCode.FAULT_ABORT]: 'FI',
  [MeshErrorCode.CLOSED]: 'LR',
};

/** The flag of a local reply's error code; "-" (Envoy's "no flags") for none or an unmapped code. */
export function responseFlagsOf(code: string | undefined): string {
  if (code === undefined) return '-';
  return FLAGS[code] ?? '-';
}
