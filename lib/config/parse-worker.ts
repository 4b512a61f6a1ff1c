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

/** Parts in flight to the main thread at once: enough to keep it busy while this thread encodes the next. */
const WINDOW = 8;

/** The parse in progress: its parts still to send, and the credit the main thread has given for them. */
let job: { readonly parts: Generator<SnapshotPart, void, void>; credit: number } | undefined;

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
  job = { parts, credit: WINDOW };
  send(port);
}

function send(port: NonNullable<typeof parentPort>): void {
  const current = job;
  if (current === undefined) return;
  for (; current.credit > 0; current.credit--) {
    const next = current.parts.next();
    if (next.done === true) {
      // All sent: credit the main thread still gives for this parse is dropped.
      job = undefined;
      return;
    }
    port.postMessage({ kind: 'part', part: next.value } satisfies WorkerMessage);
  }
}

// The thread serves one parse after another (parse-config-off-thread.ts keeps it between them). A request is a
// message (not workerData: copying megabytes of YAML in the Worker constructor held the main loop); MORE gives
// credit for one more part of the parse in progress.
const port = parentPort;
if (port !== null) {
  port.on('message', (m: ParseRequest | typeof MORE) => {
    if (m === MORE) {
      if (job !== undefined) {
        job.credit++;
        send(port);
      }
      return;
    }
    run(port, m);
  });
}
