export * from './model';
export { ConfigError } from './config-error';
export type { ConfigProblem } from './config-error';
export { parseConfig } from './parse-config';
export type { ConfigSource, ParseConfigOptions } from './parse-config';
export { loadConfigFiles } from './load-config-files';
export { parseDuration } from './parse-duration';
export { snapshotToJSON } from './snapshot-to-json';
export type { SnapshotJSON } from './snapshot-to-json';
