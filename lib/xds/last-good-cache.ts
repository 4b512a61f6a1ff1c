// The on-disk copy of the last complete xDS config, so a process that starts
// while the control plane is unreachable still gets the mesh it last had.
// It holds the raw resources (not the model) so they go through the same
// checks and translation as resources from the wire.
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { ClusterLoadAssignmentProto, ClusterProto, RouteConfigurationProto } from './envoy-types';

const FORMAT = 1;

export interface CachedTypes {
  readonly routeConfigurations: { readonly version: string; readonly resources: RouteConfigurationProto[] };
  readonly clusters: { readonly version: string; readonly resources: ClusterProto[] };
  readonly assignments: { readonly version: string; readonly resources: ClusterLoadAssignmentProto[] };
}

interface CacheFile extends CachedTypes {
  readonly format: number;
  readonly savedAt: string;
}

/** The cached config, or undefined when there is none or it cannot be read. */
export async function readLastGood(file: string): Promise<CachedTypes | undefined> {
  try {
    const json = JSON.parse(await fs.readFile(file, 'utf8')) as CacheFile;
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
