// apache-dubbo-js 3.0.0-rc6 (the only release) calls util.isString, util.isFunction
// and util.isArray, which Node 23 removed (isArray is deprecated), so
// `new Dubbo()` throws there. Put back plain equivalents, only where missing,
// before any dubbo-js code runs; dubbo-js reads them from the util module at
// call time.
/* eslint-disable @typescript-eslint/no-require-imports */
const util = require('node:util') as Record<string, unknown>;

if (typeof util.isString !== 'function') util.isString = (v: unknown): boolean => typeof v === 'string';
if (typeof util.isFunction !== 'function') util.isFunction = (v: unknown): boolean => typeof v === 'function';
if (typeof util.isArray !== 'function') util.isArray = Array.isArray;

export {};
