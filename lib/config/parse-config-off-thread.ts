// parseConfigOffThread: parseConfigInto for configs large enough that parsing
// them would hold the event loop (a 100k-endpoint file takes seconds). The
// YAML parse, the schema checks and the snapshot build run in a worker
// thread (parse-worker.ts) on another core; the snapshot comes back in parts
// of about a thousand endpoints. The main thread rebuilds them in slices of
// at most SLICE_MS with a turn of the event loop between slices, so calls
// keep flowing while a mesh starts or reloads; it asks for the next part as
// it takes one, so the worker stays a few parts ahead instead of waiting for
// a round trip per part. Problems are found and worded
// by the same code as on the main thread, lines included. Small configs are
// parsed in place: a thread costs more than they do.

import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { ConfigError, type ConfigProblem } from './config-error';
import type { Diagnostics, DiagnosticsState } from './diagnostics';
import type { Snapshot } from './model';
import { type ConfigSource, type ParseConfigOptions, nextSnapshotVersion, parseConfigInto } from './parse-config';
import { regexMaxProgramSize } from './regex-check';
import { SLICE_MS, nextTurn, runSliced, type Steps } from './sliced-work';
import { SnapshotAssembly, type SnapshotPart } from './snapshot-transfer';
import { type ConfigFileBytes, sourceText } from './config-file-bytes';
import { MeshError, MeshErrorCode } from '../protocol/mesh-error';

/** Configs from this many characters (all files together) are parsed in a worker thread. */
export const OFF_THREAD_CHARS = 256 * 1024;

/** @internal A file as the worker gets it: its text, or its bytes (moved to the thread, decoded there). */
export type WorkerSource = ConfigSource | { readonly file: string; readonly bytes: Uint8Array };

/** @internal What the main thread hands the worker. */
export interface ParseRequest {
  readonly sources: readonly WorkerSource[];
  readonly options: { readonly version: string; readonly secretDir?: string; readonly fastPathBytes?: number };
  readonly diagnostics: DiagnosticsState;
  readonly regexMaxProgramSize: number;
}

/** @internal What the worker sends back. */
export type WorkerMessage =
  | { readonly kind: 'fastPath'; readonly stood: boolean }
  | { readonly kind: 'part'; readonly part: SnapshotPart }
  | { readonly kind: 'problems'; readonly problems: readonly ConfigProblem[] }
  | { readonly kind: 'failed'; readonly code: string; readonly message: string };

const WORKER_FILE = path.join(__dirname, 'parse-worker.js');

/**
 * parseConfigInto, in a worker thread when the config is large; the same
 * snapshot or the same ConfigError. Files read as bytes are decoded in the
 * thread (their bytes are copied once and moved to it, not cloned as text).
 * A large config's snapshot shares every endpoint and cluster object equal to
 * one of `current` (the snapshot in force; SnapshotAssembly).
 */
export async function parseConfigOffThread(
  sources: readonly (ConfigSource | ConfigFileBytes)[],
  options: ParseConfigOptions,
  diagnostics: Diagnostics,
  current?: Snapshot,
): Promise<Snapshot> {
  const { offThreadChars: _, ...parseOptions } = options;
  // Characters of text, bytes of a file read as bytes: the same for ASCII YAML, and only a threshold.
  const size = sources.reduce((n, s) => n + ('text' in s ? s.text.length : s.bytes.length), 0);
  if (!runsOffThread(size, options)) return parseConfigInto(sources.map(sourceText), parseOptions, diagnostics);
  const moved: ArrayBuffer[] = [];
  const request: ParseRequest = {
    // A copy (the caller keeps its bytes: the watcher compares the next read with them) whose buffer moves to the thread.
    sources: sources.map((s) => {
      if ('text' in s) return s;
      const bytes = new Uint8Array(s.bytes);
      moved.push(bytes.buffer);
      return { file: s.file, bytes };
    }),
    options: {
      version: parseOptions.version ?? nextSnapshotVersion(),
      ...(parseOptions.secretDir === undefined ? {} : { secretDir: parseOptions.secretDir }),
      ...(parseOptions.fastPathBytes === undefined ? {} : { fastPathBytes: parseOptions.fastPathBytes }),
    },
    diagnostics: diagnostics.state(),
    regexMaxProgramSize: regexMaxProgramSize(),
  };
  // Taking the thread and handing it the files each take a turn of their own: a new thread starts without them (as
  // workerData they were copied inside the Worker constructor, 20-30 ms in one go), and gets them in the next turn
  // as a message.
  await nextTurn();
  const worker = takeThread();
  return new Promise<Snapshot>((resolve, reject) => {
    setImmediate(() => worker.postMessage(request, moved));
    const assembly = new SnapshotAssembly(current);
    let settled = false;
    /** Ends this parse; the thread goes back for the next one unless it failed or the parse was cut short here. */
    const settle = (err: Error | undefined, snapshot?: Snapshot, threadUsable = true): void => {
      if (settled) return;
      settled = true;
      worker.off('message', onMessage).off('error', onError).off('exit', onExit);
      if (threadUsable) giveBackThread(worker);
      else void worker.terminate();
      if (err !== undefined || snapshot === undefined) reject(err ?? new MeshError(MeshErrorCode.CONFIG, 'the config parser thread gave no snapshot'));
      else resolve(snapshot);
    };
    // Parts received and not yet rebuilt; at most the worker's window of them.
    const pending: SnapshotPart[] = [];
    let rebuilding = false;
    // A part in steps of about a hundred endpoints (addSteps), in runSliced's slices (which share the turn's budget
    // with other config work).
    function* rebuildSteps(): Steps<void> {
      for (let part = pending.shift(); part !== undefined && !settled; part = pending.shift()) {
        try {
          yield* assembly.addSteps(part);
          // Settled while this part was rebuilt (the thread failed or reported problems): no more parts are asked for.
          if (settled) return;
          if (part.kind === 'rest') settle(undefined, assembly.finish());
          else worker.postMessage(MORE);
        } catch (err) {
          // The thread is still sending this snapshot's parts: it does not go back.
          settle(MeshError.from(err, MeshErrorCode.CONFIG), undefined, false);
        }
        yield;
      }
    }
    const rebuild = async (): Promise<void> => {
      rebuilding = true;
      // Not shorter while calls are in flight: side by side at 100k endpoints, 0.25 ms slices here made a reload under
      // a call stream 920-1,080 ms against 670-860 ms and left the calls' p99 as it was (the long turns of a reload are
      // young collections of the new state's objects and the thread waiting for a core, not slices).
      await runSliced(rebuildSteps(), SLICE_MS, 'snapshot transfer', SLICE_MS);
      rebuilding = false;
    };
    const onMessage = (m: WorkerMessage): void => {
      switch (m.kind) {
        case 'fastPath':
          parseOptions.onFastPath?.(m.stood);
          return;
        case 'problems':
          settle(new ConfigError(m.problems));
          return;
        case 'failed':
          settle(new MeshError(isMeshErrorCode(m.code) ? m.code : MeshErrorCode.CONFIG, m.message));
          return;
        case 'part':
          pending.push(m.part);
          if (!rebuilding) void rebuild();
          return;
      }
    };
    const onError = (err: Error): void => settle(MeshError.from(err, MeshErrorCode.CONFIG), undefined, false);
    const onExit = (code: number): void =>
      settle(new MeshError(MeshErrorCode.CONFIG, `the config parser thread ended (exit code ${code}) before it gave a snapshot`), undefined, false);
    worker.on('message', onMessage).on('error', onError).on('exit', onExit);
  });
}

/**
 * Starts the parser thread ahead of a parse of about `size` characters that
 * will run off the main thread: it loads its code while the files are still
 * being read. Nothing when a thread is already idle or the parse will not
 * need one.
 */
export function expectParseOffThread(size: number, options: Pick<ParseConfigOptions, 'offThreadChars'> = {}): void {
  if (runsOffThread(size, options) && idleThread === undefined) giveBackThread(newThread());
}

/** Whether a parse of `size` characters runs in the parser thread: a large one, from compiled JavaScript (run from TypeScript sources there is no worker file to start). */
function runsOffThread(size: number, options: Pick<ParseConfigOptions, 'offThreadChars'>): boolean {
  return size >= (options.offThreadChars ?? OFF_THREAD_CHARS) && __filename.endsWith('.js');
}

/** @internal The message that gives the thread credit for one more part. */
export const MORE = 'more';

/**
 * The parser thread left from the last large parse, idle. It stays (unref'd:
 * it never keeps the process alive) so that a reload finds its code already
 * compiled and optimised: a warm thread parses a 100k-endpoint file in about
 * two thirds of the time a new one takes, and skips the thread's start.
 */
let idleThread: Worker | undefined;

function takeThread(): Worker {
  const worker = idleThread ?? newThread();
  idleThread = undefined;
  worker.ref();
  return worker;
}

function giveBackThread(worker: Worker): void {
  if (idleThread !== undefined) {
    // Two parses ran at once (two meshes); one idle thread is enough.
    void worker.terminate();
    return;
  }
  worker.unref();
  idleThread = worker;
}

function newThread(): Worker {
  const worker = new Worker(WORKER_FILE);
  // An idle thread that dies (it should not) is simply not used again.
  worker.on('exit', () => {
    if (idleThread === worker) idleThread = undefined;
  });
  worker.on('error', () => undefined);
  return worker;
}

/** @internal For tests: ends the idle parser thread, if any. */
export async function endIdleParseThread(): Promise<void> {
  const worker = idleThread;
  idleThread = undefined;
  await worker?.terminate();
}

/** @internal For tests: the thread a next large parse would reuse, if any. */
export function idleParseThreadId(): number | undefined {
  return idleThread?.threadId;
}

function isMeshErrorCode(code: string): code is MeshErrorCode {
  return Object.values(MeshErrorCode).includes(code as MeshErrorCode);
}
