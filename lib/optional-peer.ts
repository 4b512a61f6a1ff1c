// Optional peer dependencies (thrift, apache-dubbo-js, hessian.js, ioredis):
// each is installed by the application that uses its protocol and loaded only
// by the entry point that needs it. A missing one is a clear error naming the
// package to install, not a MODULE_NOT_FOUND from deep inside meta-mesh.
import { MeshError, MeshErrorCode } from './protocol/mesh-error';

/** Throws a CONFIG MeshError naming the packages of `names` that `entry` needs and cannot find. */
export function requirePeers(entry: string, names: readonly string[]): void {
  const missing = names.filter((name) => !resolvable(name));
  if (missing.length === 0) return;
  const list = missing.map((name) => `'${name}'`).join(' and ');
  throw new MeshError(
    MeshErrorCode.CONFIG,
    `${entry} needs the optional peer dependenc${missing.length === 1 ? 'y' : 'ies'} ${list}, which ${missing.length === 1 ? 'is' : 'are'} not installed: run npm install ${missing.join(' ')}`,
  );
}

/** Loads an optional peer for `entry` (a feature such as RedisRateLimiter), or throws the error above. */
export function loadPeer<T>(entry: string, name: string): T {
  requirePeers(entry, [name]);
// eslint-disable-next-line @typescript-eslint/no-require-imports -- an optional peer, by name
  return require(name) as T;
}

function resolvable(name: string): boolean {
  try {
    require.resolve(name);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') return false;
    throw err;
  }
}
