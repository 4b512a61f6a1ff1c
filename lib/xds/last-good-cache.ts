// The on-disk copy of the last complete xDS config, so a process that starts
// while the control plane is unreachable still gets the mesh it last had.
// It holds the raw resources (not the model) so they go through the same
// checks and translation as resources from the wire. Listeners (LDS, kept
// when the node is a sidecar) are in it too: they carry Aeraki's rate limits,
// tracing and access-log settings, which a restart must not lose.
//
// Writing it at 100k endpoints is seconds of CPU (each EDS resource decoded
// again from the bytes the client keeps, then turned into JSON): it runs as
// steps of one resource each (lastGoodSteps, for runSliced) into text pieces
// that go to disk one after another, never as one block on the event loop.
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { Steps } from '../config/sliced-work';
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

/** One resource type to cache: its resources as taken when the config was applied, each read (decoded) only when written. */
export interface CacheList<T> {
  readonly version: string;
  readonly resources: readonly (() => T | undefined)[];
}

/** What the cache holds, as lists taken when the config was applied (lastGoodSteps). */
export interface CacheLists {
  readonly routeConfigurations: CacheList<RouteConfigurationProto>;
  readonly clusters: CacheList<ClusterProto>;
  readonly assignments: CacheList<ClusterLoadAssignmentProto>;
  readonly listeners?: CacheList<ListenerProto>;
}

/**
 * The cache file's text in pieces, one resource per step: a CacheFile in
 * JSON (Buffers as Node writes them, which readLastGood revives).
 */
export function* lastGoodSteps(lists: CacheLists): Steps<string[]> {
  const pieces: string[] = [`{"format":${FORMAT},"savedAt":${JSON.stringify(new Date().toISOString())}`];
  for (const key of ['routeConfigurations', 'clusters', 'assignments', 'listeners'] as const) {
    const list = lists[key];
    if (list === undefined) continue;
    pieces.push(`,${JSON.stringify(key)}:{"version":${JSON.stringify(list.version)},"resources":[`);
    let first = true;
    for (const read of list.resources) {
      const resource = read();
      if (resource === undefined) continue;
      pieces.push(`${first ? '' : ','}${JSON.stringify(resource)}`);
      first = false;
      yield;
    }
    pieces.push(']}');
  }
  pieces.push('}');
  return pieces;
}

/**
 * Writes the pieces to a temp file one after another (none joined into one
 * big string), then renames it into place: atomic, so a crash never leaves
 * half a cache.
 */
export async function writeLastGoodText(file: string, pieces: readonly string[]): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  const out = await fs.open(tmp, 'w');
  try {
    for (const piece of pieces) await out.write(piece);
  } finally {
    await out.close();
  }
  await fs.rename(tmp, file);
}

/** Bytes fields (an Any's value) were written as Node writes a Buffer in JSON: read them back as Buffers. */
function reviveBytes(_key: string, value: unknown): unknown {
  if (typeof value === 'object' && value !== null && (value as { type?: unknown }).type === 'Buffer' && Array.isArray((value as { data?: unknown }).data)) {
    return Buffer.from((value as { data: number[] }).data);
  }
  return value;
}
