// The rules for applying one xDS response, the same for every resource type
// and for both protocol variants: every resource is decoded and validated
// first, and only a response with no invalid resource changes anything. One
// bad resource (bytes that do not decode, a value out of range, a wrong type
// URL, a name listed twice) NACKs the whole response and leaves all of the
// last good state as it was: no resource is accepted, and none is taken as
// deleted. applyResponse reads a state-of-the-world DiscoveryResponse;
// apply-delta-response.ts reads a DeltaDiscoveryResponse with the same checks.
import type { Steps } from '../config/sliced-work';
import type { AnyResource, DiscoveryResponseProto } from './envoy-types';
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

/** One resource as a response offers it. */
export interface OfferedResource {
  readonly any: AnyResource;
  /** The name the response gives it beside the bytes (delta); it must be the resource's own name. */
  readonly name?: string;
}

/** The outcome of checking every resource of a response, before anything is changed. */
export interface CheckedResources<Raw, Value> {
  readonly errors: string[];
  readonly refused: [name: string, why: string][];
  readonly updates: { name: string; bytes: Buffer; raw: Raw | undefined; value: Value; version: string }[];
  /** Every name the response carried. */
  readonly seen: Set<string>;
}

export const NOTHING: readonly string[] = Object.freeze([]);

/** Decodes, names and validates every offered resource; changes nothing. Yields after each resource. */
export function* checkResources<Raw, Value>(
  type: XdsResourceType<Raw, Value>,
  store: ResourceStore<Raw, Value>,
  offered: Iterable<OfferedResource>,
  wanted: (name: string) => boolean,
  version: string,
): Steps<CheckedResources<Raw, Value>> {
  const out: CheckedResources<Raw, Value> = { errors: [], refused: [], updates: [], seen: new Set() };
  for (const { any, name: given } of offered) {
    yield;
    if (any.type_url !== type.typeUrl) {
      out.errors.push(`a ${type.short} response carried a resource of type ${any.type_url ?? '(none)'}; send ${type.typeUrl}`);
      continue;
    }
    const bytes = Buffer.isBuffer(any.value) ? any.value : Buffer.from(any.value ?? []);
    let decoded;
    try {
      decoded = type.decode(bytes);
    } catch (err) {
      out.errors.push(`a ${type.short} resource could not be decoded: ${(err as Error).message}`);
      continue;
    }
    const name = decoded.name;
    if (given !== undefined && given !== name) {
      out.errors.push(`${type.short} resource '${given}' holds a resource named '${name}'; the name beside a resource must be its own`);
      continue;
    }
    if (out.seen.has(name)) {
      out.errors.push(`${type.short} resource '${name}' is listed twice in one response; send each resource once`);
      continue;
    }
    out.seen.add(name);
    // The name first, so an unwanted or unchanged resource costs no validation.
    if (!wanted(name) || store.unchanged(name, bytes)) continue;
    try {
      const valid = type.validateSteps === undefined ? type.validate(decoded, bytes) : yield* type.validateSteps(decoded, bytes);
      out.updates.push({ name, bytes, raw: valid.raw, value: valid.value, version });
    } catch (err) {
      const why = (err as Error).message;
      out.refused.push([name, why]);
      out.errors.push(why);
    }
  }
  return out;
}

/** A refused response: each invalid resource and the response as a whole are recorded; nothing else changes. */
export function refuseResponse<Raw, Value>(store: ResourceStore<Raw, Value>, checked: CheckedResources<Raw, Value>, version: string): ApplyResult {
  for (const [name, why] of checked.refused) store.reject(name, why, version);
  store.refuse(checked.errors.join('; '), version);
  return { errors: checked.errors, changed: NOTHING, removed: NOTHING };
}

/** Takes every checked update into the store; returns their names. */
export function acceptUpdates<Raw, Value>(store: ResourceStore<Raw, Value>, checked: CheckedResources<Raw, Value>): string[] {
  const changed: string[] = [];
  for (const u of checked.updates) {
    store.accept(u.name, u.raw, u.bytes, u.value, u.version);
    changed.push(u.name);
  }
  return changed;
}

export function* applyResponse<Raw, Value>(
  type: XdsResourceType<Raw, Value>,
  store: ResourceStore<Raw, Value>,
  response: DiscoveryResponseProto,
  ctx: ApplyContext,
): Steps<ApplyResult> {
  const version = response.version_info ?? '';
  const checked = yield* checkResources(type, store, (response.resources ?? []).map((any) => ({ any })), (name) => ctx.wanted(name), version);
  if (checked.errors.length > 0) return refuseResponse(store, checked, version);
  const changed = acceptUpdates(store, checked);
  const removed: string[] = [];
  if (type.allResourcesRequiredInSotW) {
    // A name left out is deleted only if the server knew it was wanted: it
    // was received before, or asked for in the stream's first request of the
    // type. One asked for later may be missing only because this response
    // crossed that request; the does-not-exist timer decides it, as gRPC does.
    for (const [name, e] of store.entries) {
      if (!checked.seen.has(name) && (e.value !== undefined || ctx.serverKnowsOf(name)) && store.absent(name)) removed.push(name);
    }
  }
  store.accepted();
  return { errors: NOTHING, changed, removed };
}
