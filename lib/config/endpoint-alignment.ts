// alignEndpoints: which endpoints of a cluster's list in force and of its
// replacement name the same host (address and port), matched in list order.
// A regenerated file or an EDS update usually keeps most endpoints and their
// order, but one endpoint more or less shifts every position after it, so a
// comparison place by place would find nothing in common. Equal runs are
// matched position by position; at a difference it looks a few places ahead
// in both lists for a removal or an insertion and steps over it. What is not
// matched is simply left unmatched: callers count it as gone or new, so the
// result is always exact, only sometimes not the smallest difference.
import type { Endpoint } from './model';
import type { Steps } from './sliced-work';

/** Matched positions of both lists: 1 where the endpoint has its equal in the other list. */
export interface EndpointAlignment {
  readonly matchedBefore: Uint8Array;
  readonly matchedAfter: Uint8Array;
}

/** How far ahead a difference is looked past (each way). */
const LOOK_AHEAD = 8;
/** Comparisons a step. */
const STEP_COMPARISONS = 4096;

/**
 * Aligns `before` and `after`, in steps of a few thousand comparisons. The
 * looking ahead is bounded by a budget proportional to the lists' lengths:
 * two unrelated lists cost a few comparisons an endpoint, not LOOK_AHEAD.
 */
export function* alignEndpoints(before: readonly Endpoint[], after: readonly Endpoint[]): Steps<EndpointAlignment> {
  const m = before.length;
  const n = after.length;
  const matchedBefore = new Uint8Array(m);
  const matchedAfter = new Uint8Array(n);
  let spare = 2 * (m + n);
  let work = 0;
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (sameHost(after[i]!, before[j]!)) {
      // i < n, j < m
      matchedAfter[i++] = 1;
      matchedBefore[j++] = 1;
    } else if (spare > 0) {
      // The nearest place ahead where the lists meet again: `before` lost d endpoints, or `after` gained d.
      let d = 1;
      for (; d <= LOOK_AHEAD; d++) {
        if (j + d < m && sameHost(after[i]!, before[j + d]!)) {
          j += d;
          break;
        }
        if (i + d < n && sameHost(after[i + d]!, before[j]!)) {
          i += d;
          break;
        }
      }
      spare -= 2 * Math.min(d, LOOK_AHEAD);
      work += 2 * Math.min(d, LOOK_AHEAD);
      if (d > LOOK_AHEAD) {
        // Neither: the endpoint at this place changed.
        i++;
        j++;
      }
    } else {
      i++;
      j++;
    }
    if (++work >= STEP_COMPARISONS) {
      work = 0;
      yield;
    }
  }
  return { matchedBefore, matchedAfter };
}

function sameHost(a: Endpoint, b: Endpoint): boolean {
  return a === b || (a.address === b.address && a.port === b.port);
}
