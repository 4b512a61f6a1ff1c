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
import { SLICE_MS, runSliced, type Steps } from './sliced-work';
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
 */
export async function parseConfigOffThread(sources: readonly (ConfigSource | ConfigFileBytes)[], options: ParseConfigOptions, diagnostics: Diagnostics): Promise<Snapshot> {
  const { offThreadChars = OFF_THREAD_CHARS, ...parseOptions } = options;
  // Characters of text, bytes of a file read as bytes: the same for ASCII YAML, and only a threshold.
  const size = sources.reduce((n, s) => n + ('text' in s ? s.text.length : s.bytes.length), 0);
  // Compiled JavaScript only: run from TypeScript sources there is no worker file to start.
  if (size < offThreadChars || !__filename.endsWith('.js')) return parseConfigInto(sources.map(sourceText), parseOptions, diagnostics);
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
  // Starting the thread and handing it the files each take a turn of their own: the thread starts without them (as
  // workerData they were copied inside the Worker constructor, 20-30 ms in one go), and gets them in the next turn
  // as its first message.
  await new Promise<void>((r) => setImmediate(r));
  return new Promise<Snapshot>((resolve, reject) => {
    const worker = new Worker(WORKER_FILE);
    setImmediate(() => worker.postMessage(request, moved));
    const assembly = new SnapshotAssembly();
    let settled = false;
    const settle = (err: Error | undefined, snapshot?: Snapshot): void => {
      if (settled) return;
      settled = true;
      if (err !== undefined || snapshot === undefined) reject(err ?? new MeshError(MeshErrorCode.CONFIG, 'the config parser thread gave no snapshot'));
      else resolve(snapshot);
    };
    // Parts received and not yet rebuilt; at most the worker's window of them.
    const pending: SnapshotPart[] = [];
    let rebuilding = false;
    // A part a step, in runSliced's slices (which share the turn's budget with other config work).
    function* rebuildSteps(): Steps<void> {
      for (let part = pending.shift(); part !== undefined && !settled; part = pending.shift()) {
        try {
          assembly.add(part);
          if (part.kind === 'rest') settle(undefined, assembly.finish());
          else worker.postMessage('more');
        } catch (err) {
          settle(MeshError.from(err, MeshErrorCode.CONFIG));
          void worker.terminate();
        }
        yield;
      }
    }
    const rebuild = async (): Promise<void> => {
      rebuilding = true;
      await runSliced(rebuildSteps(), SLICE_MS, 'snapshot transfer');
      rebuilding = false;
    };
    worker.on('message', (m: WorkerMessage) => {
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
    });
    worker.on('error', (err) => settle(MeshError.from(err, MeshErrorCode.CONFIG)));
    worker.on('exit', (code) => settle(new MeshError(MeshErrorCode.CONFIG, `the config parser thread ended (exit code ${code}) before it gave a snapshot`)));
  });
}

function isMeshErrorCode(code: string): code is MeshErrorCode {
  return Object.values(MeshErrorCode).includes(code as MeshErrorCode);
}
