// The state-of-the-world rules for one DiscoveryResponse, the same for every
// resource type: every resource is decoded and validated first, and only a
// response with no invalid resource changes anything. One bad resource (bytes
// that do not decode, a value out of range, a wrong type URL, a name listed
// twice) NACKs the whole response and leaves all of the last good state as it
// was: no resource is accepted, and none is taken as deleted.
import type { DiscoveryResponseProto } from './envoy-types';
import type { ResourceStore } from './resource-store';
import type { XdsResourceType } from './xds-resource-type';

export interface ApplyContext {
  /** Whether the client wants the resource (a state-of-the-world server may send more than asked). */
  wanted(name: string): boolean;
  /** Whether every response is known to have been made knowing `name` is wanted (see XdsStream.serverKnowsOf). */
  serverKnowsOf(name: string): boolean;
}

export interface ApplyResult {
  /** Why the response was refused; empty when it was applied (ACK). */
  readonly errors: readonly string[];
  /** Names whose resource changed (new or updated). */
  readonly changed: readonly string[];
  /** Names taken as deleted: a type whose responses list everything, and a response without them. */
  readonly removed: readonly string[];
}

const NOTHING: readonly string[] = Object.freeze([]);

export function applyResponse<Raw, Value>(
  type: XdsResourceType<Raw, Value>,
  store: ResourceStore<Raw, Value>,
  response: DiscoveryResponseProto,
  ctx: ApplyContext,
): ApplyResult {
  const version = response.version_info ?? '';
  const errors: string[] = [];
  const refused: [name: string, why: string][] = [];
  const updates: { name: string; bytes: Buffer; raw: Raw | undefined; value: Value }[] = [];
  const seen = new Set<string>();
  for (const any of response.resources ?? []) {
    if (any.type_url !== type.typeUrl) {
      errors.push(`a ${type.short} response carried a resource of type ${any.type_url ?? '(none)'}; send ${type.typeUrl}`);
      continue;
    }
    const bytes = Buffer.isBuffer(any.value) ? any.value : Buffer.from(any.value ?? []);
    let decoded;
    try {
      decoded = type.decode(bytes);
    } catch (err) {
      errors.push(`a ${type.short} resource could not be decoded: ${(err as Error).message}`);
      continue;
    }
    const name = decoded.name;
    if (seen.has(name)) {
      errors.push(`${type.short} resource '${name}' is listed twice in one response; send each resource once`);
      continue;
    }
    seen.add(name);
    // The name first, so an unwanted or unchanged resource costs no validation.
    if (!ctx.wanted(name) || store.unchanged(name, bytes)) continue;
    try {
      const valid = type.validate(decoded, bytes);
      updates.push({ name, bytes, raw: valid.raw, value: valid.value });
    } catch (err) {
      const why = (err as Error).message;
      refused.push([name, why]);
      errors.push(why);
    }
  }
  if (errors.length > 0) {
    for (const [name, why] of refused) store.reject(name, why, version);
    store.refuse(errors.join('; '), version);
    return { errors, changed: NOTHING, removed: NOTHING };
  }
  const changed: string[] = [];
  for (const u of updates) {
    store.accept(u.name, u.raw, u.bytes, u.value, version);
    changed.push(u.name);
  }
  const removed: string[] = [];
  if (type.allResourcesRequiredInSotW) {
    // A name left out is deleted only if the server knew it was wanted: it
    // was received before, or asked for in the stream's first request of the
    // type. One asked for later may be missing only because this response
    // crossed that request; the does-not-exist timer decides it, as gRPC does.
    for (const [name, e] of store.entries) {
      if (!seen.has(name) && (e.value !== undefined || ctx.serverKnowsOf(name)) && store.absent(name)) removed.push(name);
    }
  }
  store.accepted();
  return { errors: NOTHING, changed, removed };
}
