// The instrumentation scope meta-mesh reports its spans and metrics under:
// the package's own name and version, so backends can tell its telemetry
// apart from the application's.

/** Tracer and meter name. */
export const INSTRUMENTATION_NAME = 'meta-mesh';

/** The package version, read from our own package.json (a self-reference the package exports). */
export const INSTRUMENTATION_VERSION: string = readVersion();

function readVersion(): string {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const pkg = require('meta-mesh/package.json') as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    // Bundled or copied without its package.json: telemetry still works, unversioned.
    return '0.0.0';
  }
}
