// MetaRouter localRateLimit / globalRateLimit → model policies. Aeraki puts
// them on the inbound side of the routed host's workloads; meta-mesh does the
// same for servers that declare which service they serve.

import { attributeMatchers } from './attribute-matchers';
import { FieldPath, ManifestDocument } from './manifest-document';
import { MetaRouterSpec, TokenBucketSpec } from './manifest-types';
import { GlobalRateLimit, LocalRateLimit, TokenBucketPolicy } from './model';

/** Envoy rejects fill intervals under 50 ms. */
const MIN_FILL_INTERVAL_MS = 50;
/** Aeraki's documented default for the rate limit service call. */
const DEFAULT_RLS_TIMEOUT_MS = 20;

export function localRateLimitOf(spec: MetaRouterSpec['localRateLimit'], doc: ManifestDocument): LocalRateLimit | undefined {
  if (spec === undefined) return undefined;
  const path: FieldPath = ['spec', 'localRateLimit'];
  const tokenBucket = spec.tokenBucket === undefined ? undefined : bucketOf(spec.tokenBucket, [...path, 'tokenBucket'], doc);
  const conditions: { match: LocalRateLimit['conditions'][number]['match']; tokenBucket: TokenBucketPolicy }[] = [];
  (spec.conditions ?? []).forEach((c, i) => {
    if (c?.tokenBucket === undefined) return;
    const at: FieldPath = [...path, 'conditions', i];
    const bucket = bucketOf(c.tokenBucket, [...at, 'tokenBucket'], doc);
    if (bucket !== undefined) conditions.push(Object.freeze({ match: Object.freeze(attributeMatchers(c.match?.attributes, [...at, 'match', 'attributes'], doc)), tokenBucket: bucket }));
  });
  if (tokenBucket === undefined && conditions.length === 0) {
    doc.warn(path, 'has no tokenBucket and no conditions, so it limits nothing');
    return undefined;
  }
  return Object.freeze({ ...(tokenBucket === undefined ? {} : { tokenBucket }), conditions: Object.freeze(conditions) });
}

export function globalRateLimitOf(spec: MetaRouterSpec['globalRateLimit'], doc: ManifestDocument): GlobalRateLimit | undefined {
  if (spec === undefined || spec.domain === undefined || spec.rateLimitService === undefined) return undefined;
  const path: FieldPath = ['spec', 'globalRateLimit'];
  const descriptors = (spec.descriptors ?? []).flatMap((d) =>
    d?.property === undefined || d.descriptorKey === undefined ? [] : [Object.freeze({ property: d.property.toLowerCase(), descriptorKey: d.descriptorKey })],
  );
  if (descriptors.length === 0) doc.problem([...path, 'descriptors'], 'lists no descriptor; add at least one {property, descriptorKey} so the rate limit service knows what to count');
  return Object.freeze({
    match: Object.freeze(attributeMatchers(spec.match?.attributes, [...path, 'match', 'attributes'], doc)),
    domain: spec.domain,
    requestTimeoutMs: spec.requestTimeout ?? DEFAULT_RLS_TIMEOUT_MS,
    denyOnFail: spec.denyOnFail ?? false,
    rateLimitService: spec.rateLimitService,
    descriptors: Object.freeze(descriptors),
  });
}

function bucketOf(spec: TokenBucketSpec, path: FieldPath, doc: ManifestDocument): TokenBucketPolicy | undefined {
  if (spec.maxTokens === undefined || spec.fillInterval === undefined) return undefined;
  if (spec.fillInterval < MIN_FILL_INTERVAL_MS) {
    doc.problem([...path, 'fillInterval'], `is ${spec.fillInterval}ms; Envoy requires at least ${MIN_FILL_INTERVAL_MS}ms`);
    return undefined;
  }
  return Object.freeze({ maxTokens: spec.maxTokens, tokensPerFill: spec.tokensPerFill ?? 1, fillIntervalMs: spec.fillInterval });
}
