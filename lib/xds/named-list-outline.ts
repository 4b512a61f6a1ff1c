// The outline of a resource whose field 1 is its name and field 2 a repeated
// message: a RouteConfiguration (name, virtual_hosts) and a
// ClusterLoadAssignment (cluster_name, endpoints) alike. Reading only the
// name and where each listed message starts and ends names a resource
// without decoding it, and lets it be read one listed message at a time.
import { WireReader } from './plain-decoder';

const NAME = 1;
const LIST = 2;
const LENGTH_DELIMITED = 2;

/** Where one listed message starts and ends in the resource's bytes. */
export interface Span {
  readonly start: number;
  readonly end: number;
}

export interface NamedListOutline {
  readonly name: string;
  /** Each message of the list, in order. */
  readonly spans: readonly Span[];
}

/** Throws on malformed bytes; other fields are skipped (checked only for their framing). */
export function namedListOutline(bytes: Buffer): NamedListOutline {
  const r = new WireReader(bytes);
  const end = bytes.length;
  let name = '';
  const spans: Span[] = [];
  while (r.pos < end) {
    const tag = r.uint32();
    const field = tag >>> 3;
    if ((tag & 7) === LENGTH_DELIMITED && field === NAME) {
      name = r.string(end);
    } else if ((tag & 7) === LENGTH_DELIMITED && field === LIST) {
      const stop = r.limit(r.uint32(), end);
      spans.push({ start: r.pos, end: stop });
      r.pos = stop;
    } else {
      r.skip(tag & 7, end);
    }
  }
  return { name, spans };
}
