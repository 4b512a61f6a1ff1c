// loadConfigFiles: reads manifest files and directories (their *.yaml and
// *.yml files, sorted by name) and parses them together as one configuration.

import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Diagnostics } from './diagnostics';
import { Snapshot } from './model';
import type { ParseConfigOptions } from './parse-config';
import type { ConfigFileBytes } from './config-file-bytes';
import { expectParseOffThread, parseConfigOffThread } from './parse-config-off-thread';

const YAML_FILE = /\.ya?ml$/i;

/** A large config is parsed in a worker thread (parse-config-off-thread.ts), so loading it does not hold the event loop. */
export async function loadConfigFiles(paths: readonly string[], options: ParseConfigOptions = {}): Promise<Snapshot> {
  const diagnostics = new Diagnostics();
  // A new parser thread starts (and loads its code) while the files are read.
  const files = await readConfigFiles(paths, diagnostics, (bytes) => expectParseOffThread(bytes, options));
  return parseConfigOffThread(files, options, diagnostics);
}

/**
 * Reads the manifest files `paths` name (directories: their *.yaml and *.yml
 * files, sorted by name), in order; what cannot be read is a problem in
 * `diagnostics`. `sized`, when given, is told the size of the files `paths`
 * name directly (not those in directories) before they are read.
 */
export async function readConfigFiles(paths: readonly string[], diagnostics: Diagnostics, sized?: (bytes: number) => void): Promise<ConfigFileBytes[]> {
  const cannot = (file: string, err: unknown, what: string) =>
    diagnostics.problem({ file, document: '', field: '', message: `cannot ${what} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); check the path` });

  const files: string[] = [];
  let bytes = 0;
  for (const path of paths) {
    diagnostics.file(path);
    try {
      const info = await stat(path);
      if (!info.isDirectory()) {
        files.push(path);
        bytes += info.size;
        continue;
      }
      const entries = await readdir(path, { withFileTypes: true });
      const names = entries.filter((e) => !e.isDirectory() && YAML_FILE.test(e.name)).map((e) => e.name).sort();
      if (names.length === 0) diagnostics.warn({ file: path, document: '', field: '', message: 'directory has no *.yaml or *.yml file' });
      for (const name of names) files.push(join(path, name));
    } catch (err) {
      cannot(path, err, 'read this path');
    }
  }

  sized?.(bytes);
  const sources = await Promise.all(
    files.map(async (file): Promise<ConfigFileBytes | undefined> => {
      try {
        return { file, bytes: await readFile(file) };
      } catch (err) {
        cannot(file, err, 'read this file');
        return undefined;
      }
    }),
  );
  return sources.filter((s): s is ConfigFileBytes => s !== undefined);
}
