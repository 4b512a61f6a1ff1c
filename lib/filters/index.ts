export * from './call';
export { composeFilters } from './filter-chain';
export { createRouter } from './router';
export type { RouterContext } from './router';
