// Carriers for OpenTelemetry propagators: the call's metadata is what arrived
// (THeader headers, Dubbo attachments) and its mutation is what leaves, so
// trace context is extracted from one and injected into the other.
import type { TextMapGetter, TextMapSetter } from '@opentelemetry/api';
import type { Metadata } from '../protocol/metadata';
import type { Mutation } from '../protocol/message';

/**
 * Tracing keys the reference copies from a request's metadata into its
 * mutation, so ids a caller received travel to the next hop.
 */
export const FORWARDED_TRACE_KEYS: readonly string[] = Object.freeze([
  'x-request-id',
  'x-b3-traceid',
  'x-b3-spanid',
  'x-b3-parentspanid',
  'x-b3-sampled',
  'x-b3-flags',
  'x-ot-span-context',
  'x-cloud-trace-context',
  'traceparent',
  'grpc-trace-bin',
]);

/** Reads propagation keys from call metadata (keys are lower-cased there, as propagators ask). */
export const metadataGetter: TextMapGetter<Metadata> = {
  get: (carrier, key) => carrier.get(key),
  keys: (carrier) => Array.from(carrier, (entry) => entry[0]),
};

/** Writes propagation keys into a call's mutation. */
export const mutationSetter: TextMapSetter<Mutation> = {
  set: (carrier, key, value) => {
    carrier.set(key, value);
  },
};

/** Copies the keys present in `metadata` into `mutation`, keeping any value the mutation already has. */
export function forwardKeys(keys: readonly string[], metadata: Metadata, mutation: Mutation): void {
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const value = metadata.get(key);
    if (value !== undefined && !mutation.has(key)) mutation.set(key, value);
  }
}
