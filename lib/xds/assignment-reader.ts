// Reads an EDS ClusterLoadAssignment from its bytes straight into the model
// endpoints, a chunk of endpoints per step. Decoding a 1,000-endpoint
// assignment whole took one long step, and keeping the decoded object graph
// (six objects an endpoint) for the life of the resource made every young
// collection of a big sync copy it: here each LbEndpoint is decoded, checked
// and translated before the next is read, so its decoded objects die young
// and only the model Endpoint stays. The checks, their order and their
// messages are those of checkAssignment on the whole decoded resource, and
// the endpoints those of endpointsFromXds (test/xds/assignment-reader.test.ts).
import { LabelSets } from '../config/label-sets';
import type { Endpoint, Locality } from '../config/model';
import { runNow, type Steps } from '../config/sliced-work';
import { checkAssignmentName, checkLbEndpoint, checkLocalityGroup, endpointFromXds, localityOf } from './cluster-from-xds';
import type { LbEndpointProto, LocalityLbEndpointsProto } from './envoy-types';
import { namedListOutline } from './named-list-outline';
import { WireReader } from './plain-decoder';

// Field number of envoy.config.endpoint.v3.LocalityLbEndpoints.lb_endpoints.
const GROUP_LB_ENDPOINTS = 2;
const LENGTH_DELIMITED = 2;
/** Endpoints decoded and translated between two points where a read in slices may yield. */
export const ENDPOINTS_PER_STEP = 128;

/** Reads one message of a type from the reader's position up to `end` (plainMessageReader). */
type MessageReader<T> = (r: WireReader, end: number) => T;

export interface AssignmentProtoReaders {
  readonly group: MessageReader<LocalityLbEndpointsProto>;
  readonly lbEndpoint: MessageReader<LbEndpointProto>;
}

/** The assignment's cluster_name, without decoding its endpoints; throws on malformed bytes. */
export function assignmentNameOf(bytes: Buffer): string {
  return namedListOutline(bytes).name;
}

/** Checks and translates a whole ClusterLoadAssignment resource; throws MeshError CONFIG as checkAssignment(…, true) does, RangeError/Error for bytes that do not decode. */
export function endpointsFromBytes(bytes: Buffer, readers: AssignmentProtoReaders): readonly Endpoint[] {
  return runNow(endpointStepsFromBytes(bytes, readers));
}

/** endpointsFromBytes in steps of ENDPOINTS_PER_STEP endpoints, for runSliced. */
export function* endpointStepsFromBytes(bytes: Buffer, readers: AssignmentProtoReaders): Steps<readonly Endpoint[]> {
  // ClusterLoadAssignment: cluster_name = 1, endpoints = 2.
  const { name, spans: groups } = namedListOutline(bytes);
  checkAssignmentName(name);
  const r = new WireReader(bytes);
  const out: Endpoint[] = [];
  // Endpoints with equal labels share one frozen object (endpointFromXds).
  const labelSets = new LabelSets();
  let read = 0;
  for (const [g, { start, end }] of groups.entries()) {
    // The group's own fields first (they may follow its endpoints on the wire): checkAssignment checks them first.
    const group = groupFields(r, start, end, readers.group);
    checkLocalityGroup(name, group, g);
    const locality: Locality | undefined = localityOf(group.locality);
    r.pos = start;
    let i = 0;
    while (r.pos < end) {
      const tag = r.uint32();
      if (tag >>> 3 !== GROUP_LB_ENDPOINTS || (tag & 7) !== LENGTH_DELIMITED) {
        r.skip(tag & 7, end);
        continue;
      }
      const stop = r.limit(r.uint32(), end);
      if (++read % ENDPOINTS_PER_STEP === 0) yield;
      const e = readers.lbEndpoint(r, stop);
      // The decoder reads a message to its end; say so if the bytes ever disagree.
      if (r.pos !== stop) throw new Error(`endpoints[${g}].lb_endpoints[${i}] did not decode to its length`);
      checkLbEndpoint(name, e, g, i);
      const endpoint = endpointFromXds(e, locality, labelSets);
      if (endpoint !== undefined) out.push(endpoint);
      i++;
    }
  }
  // Of the exact length: `out` grew by push, with room to spare that the resource would keep as long as it is in force.
  return Object.freeze(out.slice());
}

/**
 * A LocalityLbEndpoints without its lb_endpoints: every other field decoded
 * by the group's own reader, field by field (a message is the sum of its
 * fields, so each field's bytes decode as the message with that field
 * alone; later ones win, as when the whole message is decoded).
 */
function groupFields(r: WireReader, start: number, end: number, readGroup: MessageReader<LocalityLbEndpointsProto>): LocalityLbEndpointsProto {
  let group: LocalityLbEndpointsProto = {};
  r.pos = start;
  while (r.pos < end) {
    const at = r.pos;
    const tag = r.uint32();
    r.skip(tag & 7, end);
    if (tag >>> 3 === GROUP_LB_ENDPOINTS && (tag & 7) === LENGTH_DELIMITED) continue;
    const next = r.pos;
    r.pos = at;
    group = { ...group, ...readGroup(r, next) };
    r.pos = next;
  }
  return group;
}
