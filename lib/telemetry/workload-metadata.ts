// This workload's Istio node metadata, read from the environment the way
// Istio's agent builds it for a sidecar: POD_NAME, POD_NAMESPACE and
// INSTANCE_IP(S), every ISTIO_META_<KEY> as <KEY>, ISTIO_METAJSON_<KEY> as
// JSON, and the pod's labels from the downward-API file Istio mounts. Keys
// given as a Mesh option win over the environment.
import * as fs from 'node:fs';
import type { WorkloadMetadata } from './peer-metadata';

/** Where Istio's injector mounts the pod's labels (downward API, `key="value"` lines). */
export const ISTIO_POD_LABELS_FILE = '/etc/istio/pod/labels';

const STRING_KEYS = ['NAME', 'NAMESPACE', 'WORKLOAD_NAME', 'OWNER', 'CLUSTER_ID', 'MESH_ID', 'ISTIO_VERSION', 'APP_CONTAINERS', 'INSTANCE_IPS'] as const;

export interface WorkloadEnvironment {
  readonly env?: NodeJS.ProcessEnv;
  /** The labels file (default ISTIO_POD_LABELS_FILE; read only if present). */
  readonly labelsFile?: string;
}

export function workloadMetadata(given: WorkloadMetadata | undefined, from: WorkloadEnvironment = {}): WorkloadMetadata {
  const env = from.env ?? process.env;
  const out: { -readonly [K in keyof WorkloadMetadata]: WorkloadMetadata[K] } = {};
  for (const key of STRING_KEYS) {
    const v = env[`ISTIO_META_${key}`];
    if (v !== undefined && v !== '') out[key] = v;
  }
  const fallBack = (key: 'NAME' | 'NAMESPACE' | 'INSTANCE_IPS', v: string | undefined): void => {
    if (out[key] === undefined && v !== undefined) out[key] = v;
  };
  fallBack('NAME', nonEmpty(env.POD_NAME));
  fallBack('NAMESPACE', nonEmpty(env.POD_NAMESPACE));
  fallBack('INSTANCE_IPS', nonEmpty(env.INSTANCE_IPS) ?? nonEmpty(env.INSTANCE_IP));
  const labels = jsonMap(env.ISTIO_METAJSON_LABELS) ?? labelsFromFile(from.labelsFile ?? ISTIO_POD_LABELS_FILE);
  if (labels !== undefined) out.LABELS = labels;
  const platform = jsonMap(env.ISTIO_METAJSON_PLATFORM_METADATA);
  if (platform !== undefined) out.PLATFORM_METADATA = platform;
  for (const [k, v] of Object.entries(given ?? {})) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  for (const k of Object.keys(out)) if ((out as Record<string, unknown>)[k] === undefined) delete (out as Record<string, unknown>)[k];
  return out;
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}

function jsonMap(text: string | undefined): Record<string, string> | undefined {
  if (text === undefined || text === '') return undefined;
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(parsed)) if (typeof v === 'string') out[k] = v;
    return out;
  } catch {
    return undefined;
  }
}

/** `key="value"` lines (Kubernetes' downward-API format, values quoted and escaped as Go strings). */
function labelsFromFile(file: string): Record<string, string> | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const raw = line.slice(eq + 1).trim();
    let value = raw;
    if (raw.startsWith('"')) {
      try {
        value = JSON.parse(raw) as string;
      } catch {
        value = raw.slice(1, -1);
      }
    }
    out[line.slice(0, eq).trim()] = value;
  }
  return out;
}
