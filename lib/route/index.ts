// The route table: metadata matching, first-match route lookup, weighted
// cluster picks and bounded mirroring.
export { compileMatcher, type MetadataPredicate } from './metadata-matcher';
export { CompiledRoute } from './compiled-route';
export { RouteTable } from './route-table';
export { Mirror, shouldMirror, type MirrorOptions, type MirrorStats } from './mirror';
