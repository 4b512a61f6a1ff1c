export * from './mesh-error';
export * from './metadata';
export * from './message';
export * from './codec';
export * from './frame-reader';
export * from './clock';
