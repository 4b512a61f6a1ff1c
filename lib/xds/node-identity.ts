// The xDS node id. Aeraki keys its snapshot cache by node id and clears it
// when a stream with that id closes, so every process needs its own id;
// istiod parses ids of the form `sidecar~<ip>~<pod>.<ns>~<ns>.svc.cluster.local`.
import * as os from 'node:os';
import { randomBytes } from 'node:crypto';

export interface NodeIdentityEnv {
  readonly ip?: string;
  readonly podName?: string;
  readonly namespace?: string;
  readonly pid?: number;
  /** Random suffix; injectable so tests get stable ids. */
  readonly suffix?: string;
  /** Where POD_NAME, POD_NAMESPACE and INSTANCE_IP are read when not given above (default process.env). */
  readonly vars?: NodeJS.ProcessEnv;
}

/** Istio's sidecar id for this pod (the same for every process in it). */
export function istioNodeId(env: NodeIdentityEnv = {}): string {
  const vars = env.vars ?? process.env;
  const ns = env.namespace ?? vars.POD_NAMESPACE ?? 'default';
  const pod = env.podName ?? vars.POD_NAME ?? os.hostname();
  return `sidecar~${env.ip ?? vars.INSTANCE_IP ?? firstIp()}~${pod}.${ns}~${ns}.svc.cluster.local`;
}

/** Istio's id shape, made unique to this process by suffixing the pod part with the pid and a random tag. */
export function uniqueNodeId(env: NodeIdentityEnv = {}): string {
  const vars = env.vars ?? process.env;
  const ns = env.namespace ?? vars.POD_NAMESPACE ?? 'default';
  const pod = env.podName ?? vars.POD_NAME ?? os.hostname();
  const tag = `${env.pid ?? process.pid}-${env.suffix ?? randomBytes(3).toString('hex')}`;
  return `sidecar~${env.ip ?? vars.INSTANCE_IP ?? firstIp()}~${pod}-${tag}.${ns}~${ns}.svc.cluster.local`;
}

function firstIp(): string {
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) if (!a.internal && a.family === 'IPv4') return a.address;
  }
  return '127.0.0.1';
}
