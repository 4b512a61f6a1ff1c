// The on-disk copy of the last complete xDS config, so a process that starts
// while the control plane is unreachable still gets the mesh it last had.
// It holds the raw resources (not the model) so they go through the same
// checks and translation as resources from the wire. Listeners (LDS, kept
// when the node is a sidecar) are in it too: they carry Aeraki's rate limits,
// tracing and access-log settings, which a restart must not lose.
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { ClusterLoadAssignmentProto, ClusterProto, RouteConfigurationProto } from './envoy-types';
import type { ListenerProto } from './lds-resource-type';

const FORMAT = 1;

export interface CachedTypes {
  readonly routeConfigurations: { readonly version: string; readonly resources: RouteConfigurationProto[] };
  readonly clusters: { readonly version: string; readonly resources: ClusterProto[] };
  readonly assignments: { readonly version: string; readonly resources: ClusterLoadAssignmentProto[] };
  /** Absent in files written before listeners were kept, and when the node takes no LDS. */
  readonly listeners?: { readonly version: string; readonly resources: ListenerProto[] };
}

interface CacheFile extends CachedTypes {
  readonly format: number;
  readonly savedAt: string;
}

/** The cached config, or undefined when there is none or it cannot be read. */
export async function readLastGood(file: string): Promise<CachedTypes | undefined> {
  try {
    const json = JSON.parse(await fs.readFile(file, 'utf8'), reviveBytes) as CacheFile;
    return json.format === FORMAT ? json : undefined;
  } catch {
    return undefined; // no cache yet, or a damaged one: start as if there were none
  }
}

/** Writes atomically (temp file + rename) so a crash never leaves half a cache. */
export async function writeLastGood(file: string, types: CachedTypes): Promise<void> {
  const body: CacheFile = { format: FORMAT, savedAt: new Date().toISOString(), ...types };
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  await fs.writeFile(tmp, JSON.stringify(body));
  await fs.rename(tmp, file);
}

/** Bytes fields (an Any's value) were written as Node writes a Buffer in JSON: read them back as Buffers. */
function reviveBytes(_key: string, value: unknown): unknown {
  if (typeof value === 'object' && value !== null && (value as { type?: unknown }).type === 'Buffer' && Array.isArray((value as { data?: unknown }).data)) {
    return Buffer.from((value as { data: number[] }).data);
  }
  return value;
}
