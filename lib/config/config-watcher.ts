// ConfigWatcher: rebuilds the snapshot when a watched YAML file changes.
// It watches the files' directories (editors and kubectl-style tools replace
// files by rename, which a watch on the file itself would miss) and debounces
// bursts of events into one reload. A reload that fails keeps the old config.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Snapshot } from './model';
import { loadConfigFiles } from './load-config-files';
import type { ParseConfigOptions } from './parse-config';
import { MeshError, MeshErrorCode } from '../protocol/mesh-error';

const DEBOUNCE_MS = 50;

export class ConfigWatcher {
  private readonly watchers: fs.FSWatcher[] = [];
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private reloading: Promise<Snapshot> | undefined;
  private changedWhileReloading = false;

  constructor(
    private readonly paths: readonly string[],
    private readonly onSnapshot: (snapshot: Snapshot) => void,
    private readonly onError: (error: MeshError) => void,
    private readonly parseOptions: ParseConfigOptions = {},
  ) {}

  start(): void {
    const dirs = new Map<string, Set<string> | undefined>();
    for (const p of this.paths) {
      const abs = path.resolve(p);
      let isDir = false;
      try {
        isDir = fs.statSync(abs).isDirectory();
      } catch {
        // A missing file is reported by the loader; its directory may still be watched.
      }
      if (isDir) {
        dirs.set(abs, undefined);
      } else {
        const dir = path.dirname(abs);
        if (!dirs.has(dir)) dirs.set(dir, new Set());
        dirs.get(dir)?.add(path.basename(abs));
      }
    }
    for (const [dir, names] of dirs) {
      try {
        const w = fs.watch(dir, { persistent: false }, (_event, filename) => {
          if (names !== undefined && filename !== null && !names.has(filename.toString())) return;
          this.schedule();
        });
        w.on('error', () => undefined);
        this.watchers.push(w);
      } catch (err) {
        this.onError(new MeshError(MeshErrorCode.CONFIG, `cannot watch ${dir} for config changes: ${(err as Error).message}`));
      }
    }
  }

  /** Reloads now; resolves with the new snapshot, which is also handed to onSnapshot. */
  reload(): Promise<Snapshot> {
    if (this.reloading !== undefined) return this.reloading;
    const reloading = loadConfigFiles([...this.paths], this.parseOptions)
      .then((snapshot) => {
        if (!this.closed) this.onSnapshot(snapshot);
        return snapshot;
      })
      .finally(() => {
        this.reloading = undefined;
        // A file changed while it was being read: read again so the last edit wins.
        if (this.changedWhileReloading) {
          this.changedWhileReloading = false;
          this.schedule();
        }
      });
    this.reloading = reloading;
    return reloading;
  }

  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    for (const w of this.watchers) w.close();
    this.watchers.length = 0;
  }

  private schedule(): void {
    if (this.closed) return;
    if (this.reloading !== undefined) {
      this.changedWhileReloading = true;
      return;
    }
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.reload().catch((err: unknown) => this.onError(MeshError.from(err, MeshErrorCode.CONFIG)));
    }, DEBOUNCE_MS);
    this.timer.unref();
  }
}
