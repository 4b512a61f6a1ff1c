// TraceSampler: whether a call is traced, decided as Envoy's connection
// manager (and so MetaProtocol Proxy) decides: a caller's sampled flag is
// honoured; otherwise the decision travels in the x-request-id UUID (its
// 15th character: 9 sampled, b client, a forced, 4 not), so every hop that
// shares one x-request-id and one config decides the same; client_sampling,
// random_sampling and overall_sampling are percentages with 0.01 resolution,
// compared against a value derived from the x-request-id's first 8 hex digits.
import type { TracingSampling } from '../config/model';
import { MeshError, MeshErrorCode } from '../protocol/mesh-error';
import type { Metadata } from '../protocol/metadata';

export type TraceReason = 'sampled' | 'client' | 'forced' | 'none';

const REASON_CHAR: Readonly<Record<TraceReason, string>> = { sampled: '9', client: 'b', forced: 'a', none: '4' };
const UUID_LENGTH = 36;
const VERSION_INDEX = 14;

export interface TraceDecision {
  readonly sampled: boolean;
  /** The x-request-id with the decision written into it (only when the call has a UUID one and it changed). */
  readonly requestId?: string;
}

const SAMPLED: TraceDecision = Object.freeze({ sampled: true });
const NOT_SAMPLED: TraceDecision = Object.freeze({ sampled: false });

/** The decision carried by an x-request-id, as Envoy's UUID request-id extension reads it. */
export function traceReasonOf(requestId: string | undefined): TraceReason {
  if (requestId === undefined || requestId.length !== UUID_LENGTH) return 'none';
  switch (requestId.charAt(VERSION_INDEX)) {
    case '9':
      return 'sampled';
    case 'b':
      return 'client';
    case 'a':
      return 'forced';
    default:
      return 'none';
  }
}

export class TraceSampler {
  private readonly client: number;
  private readonly random: number;
  private readonly overall: number;

  constructor(
    sampling: TracingSampling,
    private readonly rand: () => number = Math.random,
  ) {
    this.client = tenThousandths(sampling.client_sampling, 'client_sampling');
    this.random = tenThousandths(sampling.random_sampling, 'random_sampling');
    this.overall = tenThousandths(sampling.overall_sampling, 'overall_sampling');
  }

  /**
   * Decides for a call with `metadata`; `parentSampled` is the caller's own
   * flag (traceparent / x-b3-sampled / the ambient span), undefined if none.
   */
  decide(metadata: Metadata, parentSampled: boolean | undefined): TraceDecision {
    if (parentSampled !== undefined) return parentSampled ? SAMPLED : NOT_SAMPLED;
    const requestId = metadata.get('x-request-id');
    const stable = stableValue(requestId) ?? Math.floor(this.rand() * 10_000);
    let reason = traceReasonOf(requestId);
    const before = reason;
    if (reason === 'none') {
      if (metadata.get('x-client-trace-id') !== undefined && Math.floor(this.rand() * 10_000) < this.client) reason = 'client';
      else if (metadata.get('x-envoy-force-trace') !== undefined) reason = 'forced';
      else if (stable < this.random) reason = 'sampled';
    }
    if (stable >= this.overall) reason = 'none';
    const sampled = reason !== 'none';
    if (reason === before || requestId === undefined || requestId.length !== UUID_LENGTH) return sampled ? SAMPLED : NOT_SAMPLED;
    return { sampled, requestId: requestId.slice(0, VERSION_INDEX) + REASON_CHAR[reason] + requestId.slice(VERSION_INDEX + 1) };
  }
}

/** Envoy's modBy(10000) of an x-request-id: its first 8 characters as hex. */
function stableValue(requestId: string | undefined): number | undefined {
  if (requestId === undefined || requestId.length < 8) return undefined;
  const head = requestId.slice(0, 8);
  if (!/^[0-9a-fA-F]{8}$/.test(head)) return undefined;
  return parseInt(head, 16) % 10_000;
}

function tenThousandths(percent: number | undefined, name: string): number {
  if (percent === undefined) return 10_000;
  if (typeof percent !== 'number' || !Number.isFinite(percent) || percent < 0 || percent > 100) {
    throw new MeshError(MeshErrorCode.CONFIG, `tracing ${name} is ${String(percent)}; use a percentage from 0 to 100`);
  }
  return Math.round(percent * 100);
}

/** The caller's sampled flag carried in B3 (x-b3-sampled: 1/0/true/false, or x-b3-flags: 1 = debug). */
export function b3SampledOf(metadata: Metadata): boolean | undefined {
  if (metadata.get('x-b3-flags') === '1') return true;
  const flag = metadata.get('x-b3-sampled');
  if (flag === undefined) return undefined;
  if (flag === '1' || flag === 'true' || flag === 'd') return true;
  if (flag === '0' || flag === 'false') return false;
  return undefined;
}
