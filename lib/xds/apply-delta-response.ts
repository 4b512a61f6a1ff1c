// The incremental (delta) xDS rules for one DeltaDiscoveryResponse, the same
// for every resource type and checked as a state-of-the-world response is
// (apply-response.ts): all of it is applied, or (any resource invalid) none.
// A delta response carries only what changed: resources, each with its own
// name and version, and the names removed. A removed name the client asked
// for by name stays asked for and is known not to exist; nothing left out of
// a delta response is taken as deleted.
import { type ApplyResult, NOTHING, type OfferedResource, acceptUpdates, checkResources, refuseResponse } from './apply-response';
import type { Steps } from '../config/sliced-work';
import type { DeltaDiscoveryResponseProto } from './envoy-types';
import type { ResourceStore } from './resource-store';
import type { XdsResourceType } from './xds-resource-type';

export function* applyDeltaResponse<Raw, Value>(
  type: XdsResourceType<Raw, Value>,
  store: ResourceStore<Raw, Value>,
  response: DeltaDiscoveryResponseProto,
  wanted: (name: string) => boolean,
): Steps<ApplyResult> {
  const version = response.system_version_info ?? '';
  const errors: string[] = [];
  const offered: OfferedResource[] = [];
  const named = new Set<string>();
  for (const r of response.resources ?? []) {
    const name = r.name ?? '';
    if (name === '') {
      errors.push(`a ${type.short} delta response carried a resource without a name; set Resource.name`);
      continue;
    }
    named.add(name);
    if (r.resource === undefined || r.resource === null) {
      // A TTL heartbeat: "still the version you have". Only for a resource the client has.
      if (!(wanted(name) && store.get(name)?.value !== undefined)) {
        errors.push(`${type.short} resource '${name}' came without a body and meta-mesh has no earlier version of it; send the resource`);
      }
      continue;
    }
    offered.push({ any: r.resource, name });
  }
  const removedNames = response.removed_resources ?? [];
  for (const name of removedNames) {
    if (named.has(name)) errors.push(`${type.short} resource '${name}' is both sent and removed in one delta response; do one or the other`);
  }
  // Entries carry the response's system version, as in state of the world; each
  // resource's own version is the stream's to keep (initial_resource_versions).
  const checked = yield* checkResources(type, store, offered, wanted, version);
  checked.errors.unshift(...errors);
  if (checked.errors.length > 0) return refuseResponse(store, checked, version);
  const changed = acceptUpdates(store, checked);
  const removed: string[] = [];
  for (const name of removedNames) if (wanted(name) && store.absent(name)) removed.push(name);
  store.accepted();
  return { errors: NOTHING, changed, removed: removed.length === 0 ? NOTHING : removed };
}
