// settleThrow: one rule for every throw. A handler (the rest of a chain) that
// throws synchronously fails its own call, as a rejection, never its caller's
// code. The telemetry filters and the Mesh's chains all run `next` through it,
// so a span, a metric or an access-log line is written for such a call too.
import type { Call, Handler, Reply } from '../filters/call';

export function settleThrow(handler: Handler, call: Call): Promise<Reply | undefined> {
  try {
    return handler(call);
  } catch (err) {
    return Promise.reject(err);
  }
}
