// The worker thread of parseConfigOffThread: parses one config exactly as
// parseConfigInto does on the main thread (fast path, positioned fallback,
// every problem with its line), then hands the snapshot back in small parts,
// one more each time the main thread takes one, so the main thread never has
// more than WINDOW waiting (Node delivers, and copies, every queued message
// in one turn: a part is about 0.3 ms to copy).

import { parentPort } from 'node:worker_threads';
import { ConfigError } from './config-error';
import { Diagnostics } from './diagnostics';
import { parseConfigInto } from './parse-config';
import { setRegexMaxProgramSize } from './regex-check';
import { type SnapshotPart, snapshotParts } from './snapshot-transfer';
import type { ParseRequest, WorkerMessage } from './parse-config-off-thread';
import { MeshError } from '../protocol/mesh-error';

/** Parts in flight to the main thread at once: enough to keep it busy while this thread encodes the next. */
const WINDOW = 8;

function run(port: NonNullable<typeof parentPort>, request: ParseRequest): void {
  const post = (m: WorkerMessage) => port.postMessage(m);
  let parts: Generator<SnapshotPart, void, void>;
  try {
    setRegexMaxProgramSize(request.regexMaxProgramSize);
    const sources = request.sources.map((s) => ('text' in s ? s : { file: s.file, text: Buffer.from(s.bytes.buffer, s.bytes.byteOffset, s.bytes.byteLength).toString('utf8') }));
    const snapshot = parseConfigInto(sources, { ...request.options, onFastPath: (stood) => post({ kind: 'fastPath', stood }) }, Diagnostics.from(request.diagnostics));
    parts = snapshotParts(snapshot);
  } catch (err) {
    if (err instanceof ConfigError) post({ kind: 'problems', problems: err.problems });
    else post({ kind: 'failed', code: err instanceof MeshError ? err.code : 'CONFIG', message: err instanceof Error ? err.message : String(err) });
    return;
  }
  let credit = WINDOW;
  const send = (): void => {
    for (; credit > 0; credit--) {
      const next = parts.next();
      if (next.done === true) {
        // Nothing more to send: stop listening, so the thread ends.
        port.removeAllListeners('message');
        return;
      }
      post({ kind: 'part', part: next.value });
    }
  };
  port.on('message', () => {
    credit++;
    send();
  });
  send();
}

// The request is the first message (not workerData: copying megabytes of YAML in the Worker constructor held the main loop).
const port = parentPort;
if (port !== null) port.once('message', (request: ParseRequest) => run(port, request));
