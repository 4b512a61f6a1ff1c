// The `yaml` package, loaded on first use. It reads YAML with positions (the
// lines messages point at) and is the largest module the config parser
// uses: loading it took about a third of the start of the worker thread that
// parses a large config, which needs it only for a small file or for the
// document a message is about.

let loaded: typeof import('yaml') | undefined;

/** The `yaml` module (loaded on the first call). */
export function positionedYaml(): typeof import('yaml') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use (import cost in the parse thread)
  loaded ??= require('yaml') as typeof import('yaml');
  return loaded;
}
