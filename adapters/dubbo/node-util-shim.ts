// shimNodeUtilForDubbo: apache-dubbo-js 3.0.0-rc6 (the only release) calls
// util.isString, util.isFunction and util.isArray, which Node 23 removed, so
// `new Dubbo()` throws there. This puts back plain equivalents on node:util,
// only where missing. It changes a module every package shares, so it is an
// explicit call the application makes (once, before `new Dubbo()`), never a
// side effect of importing meta-mesh/dubbo; dubbo-js reads the helpers at
// call time, so calling it after importing apache-dubbo-js is fine.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- the module object itself, to patch it
import nodeUtil = require('node:util');
import { MeshError, MeshErrorCode } from '../../lib/protocol';

// The module object itself (an `import * as` namespace would be a copy under esModuleInterop).
const util = nodeUtil as unknown as Record<string, unknown>;

/** Restores util.isString / isFunction / isArray where Node (23+) removed them; a no-op on Node 20 and 22. */
export function shimNodeUtilForDubbo(): void {
  if (typeof util.isString !== 'function') util.isString = (v: unknown): boolean => typeof v === 'string';
  if (typeof util.isFunction !== 'function') util.isFunction = (v: unknown): boolean => typeof v === 'function';
  if (typeof util.isArray !== 'function') util.isArray = Array.isArray;
}

/** Throws a MeshError that says to call shimNodeUtilForDubbo() when this Node lacks what apache-dubbo-js calls. */
export function assertNodeUtilForDubbo(): void {
  if (typeof util.isString === 'function' && typeof util.isFunction === 'function' && typeof util.isArray === 'function') return;
  throw new MeshError(
    MeshErrorCode.CONFIG,
    `apache-dubbo-js calls util.isString, util.isFunction and util.isArray, which Node ${process.versions.node} no longer has: ` +
      "call shimNodeUtilForDubbo() from 'meta-mesh/dubbo' once before new Dubbo()",
  );
}
