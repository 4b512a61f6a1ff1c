// ConfigWatcher: rebuilds the snapshot when a watched YAML file changes.
//
// It watches the files' directories and reacts to every event in them, not
// just to events named after the files: a Kubernetes ConfigMap volume is
// updated by swapping a `..data` symlink (the files themselves are symlinks
// through it and never change), and editors save by writing another file and
// renaming it over the old one. What decides is what the files hold: an event
// that changed nothing (an unrelated file, the kubelet removing the old data
// directory) is read and dropped.
//
// A file caught mid-rewrite must never become the config, so an edit applies
// only once two reads `settleMs` apart agree (each new event starts the wait
// over), and a file that reads empty is never applied (a truncate-then-write
// pauses there): the previous config stays and configError says why.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Snapshot } from './model';
import { Diagnostics } from './diagnostics';
import type { ConfigFileBytes } from './config-file-bytes';
import { readConfigFiles } from './load-config-files';
import type { ParseConfigOptions } from './parse-config';
import { parseConfigOffThread } from './parse-config-off-thread';
import { MeshError, MeshErrorCode } from '../protocol/mesh-error';

/** Timers the watcher uses; tests inject their own to step time by hand. */
export interface WatcherTimers {
  set(callback: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

export interface ConfigWatcherOptions {
  /** Quiet time after the last file event before the files are read (default 50 ms). */
  readonly debounceMs?: number;
  /** Time between two reads that must agree before an edit applies (default 100 ms). */
  readonly settleMs?: number;
  readonly timers?: WatcherTimers;
  /** How the files are parsed (e.g. secretDir for RedisService/RedisDestination auth). */
  readonly parse?: ParseConfigOptions;
  /** The snapshot in force: a large config's new snapshot shares its equal endpoints and clusters (parseConfigOffThread). */
  readonly current?: () => Snapshot | undefined;
}

const realTimers: WatcherTimers = {
  set: (callback, ms) => setTimeout(callback, ms).unref(),
  clear: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

interface Reading {
  readonly sources: ConfigFileBytes[];
  readonly diagnostics: Diagnostics;
  /** Every file name and text read, and what could not be read: equal signatures, equal config. */
  readonly signature: Signature;
  /** Reads are numbered: a parse that ends after a later read's config was applied is dropped. */
  readonly seq: number;
}

/**
 * The file names, file bytes and problems a reading is made of, compared one
 * by one: joining megabytes of YAML into one string (as JSON) would cost a
 * long turn of the loop per read.
 */
type Signature = readonly (string | Buffer)[];

function same(a: Signature | undefined, b: Signature | undefined): boolean {
  return (
    a !== undefined &&
    b !== undefined &&
    a.length === b.length &&
    a.every((x, i) => {
      const y = b[i];
      return typeof x === 'string' ? x === y : Buffer.isBuffer(y) && x.equals(y);
    })
  );
}

export class ConfigWatcher {
  private readonly watchers: fs.FSWatcher[] = [];
  private readonly timers: WatcherTimers;
  private readonly debounceMs: number;
  private readonly settleMs: number;
  private readonly parseOptions: ParseConfigOptions;
  private readonly current: () => Snapshot | undefined;
  private timer: unknown;
  private closed = false;
  private checking = false;
  private changedWhileChecking = false;
  /** What the last config the watcher applied was built from; later events that change nothing stay silent. */
  private applied: Signature | undefined;
  /** What reload() is parsing now: the watcher leaves that edit to it. */
  private reloading: Signature | undefined;
  private appliedSeq = 0;
  private reads = 0;
  /** The last read of an edit not yet applied: the next read must match it. */
  private candidate: Signature | undefined;
  /** The candidate already refused (empty file), so it is reported once. */
  private refused: Signature | undefined;

  constructor(
    private readonly paths: readonly string[],
    /** Takes a new config; a promise (an apply in slices) is waited for before the next read is applied. */
    private readonly onSnapshot: (snapshot: Snapshot) => unknown,
    private readonly onError: (error: MeshError) => void,
    options: ConfigWatcherOptions = {},
  ) {
    this.timers = options.timers ?? realTimers;
    this.debounceMs = options.debounceMs ?? 50;
    this.settleMs = options.settleMs ?? 100;
    this.parseOptions = options.parse ?? {};
    this.current = options.current ?? (() => undefined);
  }

  start(): void {
    const dirs = new Set<string>();
    for (const p of this.paths) {
      const abs = path.resolve(p);
      let isDir = false;
      try {
        isDir = fs.statSync(abs).isDirectory();
      } catch {
        // A missing file is reported by the loader; its directory may still be watched.
      }
      dirs.add(isDir ? abs : path.dirname(abs));
    }
    for (const dir of dirs) {
      try {
        const w = fs.watch(dir, { persistent: false }, () => this.schedule(this.debounceMs));
        w.on('error', () => undefined);
        this.watchers.push(w);
      } catch (err) {
        this.onError(new MeshError(MeshErrorCode.CONFIG, `cannot watch ${dir} for config changes: ${(err as Error).message}`));
      }
    }
  }

  /** Reloads now; resolves with the new snapshot, which is also handed to onSnapshot. */
  async reload(): Promise<Snapshot> {
    const reading = await this.read();
    refuseEmpty(reading);
    this.reloading = reading.signature;
    let snapshot: Snapshot;
    try {
      snapshot = await parseConfigOffThread(reading.sources, this.parseOptions, reading.diagnostics, this.current());
    } finally {
      if (this.reloading === reading.signature) this.reloading = undefined;
    }
    this.applied = reading.signature;
    this.appliedSeq = Math.max(this.appliedSeq, reading.seq);
    this.candidate = undefined;
    if (!this.closed) await this.onSnapshot(snapshot);
    return snapshot;
  }

  close(): void {
    this.closed = true;
    if (this.timer !== undefined) this.timers.clear(this.timer);
    this.timer = undefined;
    for (const w of this.watchers) w.close();
    this.watchers.length = 0;
  }

  private schedule(ms: number): void {
    if (this.closed) return;
    if (this.checking) {
      this.changedWhileChecking = true;
      return;
    }
    if (this.timer !== undefined) this.timers.clear(this.timer);
    this.timer = this.timers.set(() => {
      this.timer = undefined;
      void this.check();
    }, ms);
  }

  /** Reads the files; applies them once a read repeats the one before it. */
  private async check(): Promise<void> {
    this.checking = true;
    let again: number | undefined;
    try {
      const reading = await this.read();
      if (this.closed || same(reading.signature, this.applied) || same(reading.signature, this.reloading)) {
        this.candidate = undefined;
        return;
      }
      if (!same(reading.signature, this.candidate)) {
        // Changed since the last read (or first sight of this edit): read again once it has had time to settle.
        this.candidate = reading.signature;
        again = this.settleMs;
        return;
      }
      try {
        refuseEmpty(reading);
        const snapshot = await parseConfigOffThread(reading.sources, this.parseOptions, reading.diagnostics, this.current());
        // A reload() that read later applied its config while this one was parsed: that one stays.
        if (this.closed || reading.seq < this.appliedSeq) return;
        this.applied = reading.signature;
        this.appliedSeq = reading.seq;
        this.candidate = undefined;
        await this.onSnapshot(snapshot);
      } catch (err) {
        if (same(this.refused, reading.signature)) return;
        this.refused = reading.signature;
        this.onError(MeshError.from(err, MeshErrorCode.CONFIG));
      }
    } catch (err) {
      this.onError(MeshError.from(err, MeshErrorCode.CONFIG));
    } finally {
      this.checking = false;
      if (this.changedWhileChecking) {
        this.changedWhileChecking = false;
        again = this.debounceMs;
      }
      if (again !== undefined) this.schedule(again);
    }
  }

  private async read(): Promise<Reading> {
    const diagnostics = new Diagnostics();
    const sources = await readConfigFiles(this.paths, diagnostics);
    const seq = ++this.reads;
    const signature = [...sources.flatMap((s) => [s.file, s.bytes]), '', ...diagnostics.problems.map((p) => p.message)];
    return { sources, diagnostics, signature, seq };
  }
}

/** A file that reads empty is taken for one caught mid-rewrite, never for the config. */
function refuseEmpty(reading: Reading): void {
  const empty = reading.sources.filter((s) => isBlank(s.bytes)).map((s) => s.file);
  if (empty.length === 0) return;
  throw new MeshError(
    MeshErrorCode.CONFIG,
    `${empty.join(', ')} ${empty.length === 1 ? 'is' : 'are'} empty, as a file is while being rewritten; the previous config stays in force. To remove every resource of a file, delete it from the config paths or leave a comment in it`,
  );
}

/** Whether a file holds only whitespace (as String.prototype.trim sees it), decoding it only if a byte could be Unicode whitespace. */
function isBlank(bytes: Buffer): boolean {
  for (const b of bytes) {
    if (b === 0x20 || (b >= 0x09 && b <= 0x0d)) continue;
    return b >= 0x80 && bytes.toString('utf8').trim() === '';
  }
  return true;
}
