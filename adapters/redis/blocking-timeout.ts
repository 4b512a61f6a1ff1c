// How long a blocking command may wait at the server, from its own
// arguments, so the mesh's deadline for it is that wait plus opTimeout
// rather than opTimeout alone (a BLPOP of 30 s must not fail at 1 s).
import { keyString } from './command-dispatch';

type Arg = string | Buffer;

/** The block time in ms (0: forever), or undefined when the arguments carry none. */
export function blockingTimeoutMs(name: string, args: readonly Arg[]): number | undefined {
  switch (name) {
    case 'blmpop':
    case 'bzmpop':
      return seconds(args[0]);
    case 'xread':
    case 'xreadgroup': {
      const at = args.findIndex((a) => keyString(a).toUpperCase() === 'BLOCK');
      return at < 0 ? undefined : millis(args[at + 1]);
    }
    default:
      // BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BZPOPMIN, BZPOPMAX: the last argument, in seconds.
      return seconds(args[args.length - 1]);
  }
}

function seconds(arg: Arg | undefined): number | undefined {
  const ms = millis(arg);
  return ms === undefined ? undefined : ms * 1000;
}

function millis(arg: Arg | undefined): number | undefined {
  if (arg === undefined) return undefined;
  const n = Number(keyString(arg));
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}
