export * from './call';
export type { CallDeadline } from './call-deadline';
export { composeFilters } from './filter-chain';
export { createRouter } from './router';
export type { RouterContext } from './router';
