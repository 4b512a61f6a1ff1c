// The worker thread of parseConfigOffThread: parses each config it is sent exactly as
// parseConfigInto does on the main thread (fast path, positioned fallback,
// every problem with its line), then hands the snapshot back in small parts,
// one more each time the main thread takes one, so the main thread never has
// more than WINDOW waiting (Node delivers, and copies, every queued message
// in one turn: a part is about 0.3 ms to copy).

import { parentPort } from 'node:worker_threads';
import { ConfigError } from './config-error';
import { sourceText } from './config-file-bytes';
import { Diagnostics } from './diagnostics';
import { parseConfigInto } from './parse-config';
import { setRegexMaxProgramSize } from './regex-check';
import { type SnapshotPart, snapshotParts } from './snapshot-transfer';
import { MORE, type ParseRequest, type WorkerMessage } from './parse-config-off-thread';
import { MeshError } from '../protocol/mesh-error';
import { lowerThreadPriority } from './background-priority';

/**
 * Parts in flight to the main thread at once. Node delivers every message
 * queued for a port in one turn, each copied out of its bytes there, outside
 * the main thread's slices of config work: with 8 in flight that was a few
 * milliseconds in one go. Two keep it busy (this thread encodes ahead, below).
 */
const WINDOW = 2;

/**
 * Parts encoded ahead of the credit, at most: this thread encodes the next
 * parts while the main thread rebuilds those in flight, instead of only when
 * credit comes back (it waited for credit about half of the transfer, and the
 * main thread then for its encoding). A part is a few tens of KB.
 */
const AHEAD = 64;

/** The parse in progress: its parts, those encoded and not sent yet, and the credit the main thread has given. */
interface Job {
  readonly parts: Generator<SnapshotPart, void, void>;
  readonly ready: SnapshotPart[];
  /** All parts are encoded (those left are in `ready`). */
  encoded: boolean;
  credit: number;
  /** A turn to encode ahead is scheduled. */
  scheduled: boolean;
}

let job: Job | undefined;

function run(port: NonNullable<typeof parentPort>, request: ParseRequest): void {
  const post = (m: WorkerMessage) => port.postMessage(m);
  job = undefined;
  let parts: Generator<SnapshotPart, void, void>;
  try {
    setRegexMaxProgramSize(request.regexMaxProgramSize);
    const snapshot = parseConfigInto(request.sources.map(sourceText), { ...request.options, onFastPath: (stood) => post({ kind: 'fastPath', stood }) }, Diagnostics.from(request.diagnostics));
    parts = snapshotParts(snapshot);
  } catch (err) {
    if (err instanceof ConfigError) post({ kind: 'problems', problems: err.problems });
    else post({ kind: 'failed', code: err instanceof MeshError ? err.code : 'CONFIG', message: err instanceof Error ? err.message : String(err) });
    return;
  }
  job = { parts, ready: [], encoded: false, credit: WINDOW, scheduled: false };
  send(port, job);
}

/** The next part of `current` (encoded ahead or now), or undefined when all are out. */
function nextPart(current: Job): SnapshotPart | undefined {
  return current.ready.shift() ?? encodeNext(current);
}

/** Encodes the next part of `current`, or marks it all encoded and gives undefined. */
function encodeNext(current: Job): SnapshotPart | undefined {
  if (current.encoded) return undefined;
  const next = current.parts.next();
  if (next.done !== true) return next.value;
  current.encoded = true;
  return undefined;
}

/** Sends what the credit allows, then encodes one part ahead a turn (so credit that comes in is taken between parts). */
function send(port: NonNullable<typeof parentPort>, current: Job): void {
  if (job !== current) return;
  for (; current.credit > 0; current.credit--) {
    const part = nextPart(current);
    if (part === undefined) {
      // All sent: credit the main thread still gives for this parse is dropped.
      job = undefined;
      return;
    }
    port.postMessage({ kind: 'part', part } satisfies WorkerMessage);
  }
  if (current.encoded || current.scheduled || current.ready.length >= AHEAD) return;
  current.scheduled = true;
  setImmediate(() => {
    current.scheduled = false;
    if (job !== current) return;
    const part = encodeNext(current);
    if (part !== undefined) current.ready.push(part);
    send(port, current);
  });
}

// The thread serves one parse after another (parse-config-off-thread.ts keeps it between them). A request is a
// message (not workerData: copying megabytes of YAML in the Worker constructor held the main loop); MORE gives
// credit for one more part of the parse in progress.
const port = parentPort;
if (port !== null) {
  lowerThreadPriority();
  port.on('message', (m: ParseRequest | typeof MORE) => {
    if (m === MORE) {
      if (job !== undefined) {
        job.credit++;
        send(port, job);
      }
      return;
    }
    run(port, m);
  });
}
