// Composes filters into one handler, once per config: the first filter listed
// is the outermost, the terminal handler (router or application) is last.
import type { Filter, Handler } from './call';

export function composeFilters(filters: readonly Filter[], terminal: Handler): Handler {
  let handler = terminal;
  for (let i = filters.length - 1; i >= 0; i--) handler = filters[i]!(handler);
  return handler;
}
