// The access-log filter: one line per call, in Aeraki's text or JSON format
// (or the user's own), written to a stream the user chose. A slow stream
// never holds calls up: past a bound, lines are dropped and counted.
import type { Call, Filter, Reply } from '../filters/call';
import { MeshError, MeshErrorCode } from '../protocol/mesh-error';
import { accessLogEntry, type AccessLogEntry } from './access-log-entry';
import * as fs from 'node:fs';
import { formatAccessLogJson, formatAccessLogText } from './access-log-format';
import { compileJsonFormat, compileTextFormat } from './access-log-format-string';
import type { AccessLogOptions, AccessLogStream } from './telemetry-options';
import { settleThrow } from './settle-throw';

export interface AccessLogStats {
  /** Lines handed to the stream. */
  written: number;
  /** Lines dropped while the stream was backed up, failed, or the formatter threw. */
  dropped: number;
}

/** An access-log filter; `stats` counts what it wrote and dropped. */
export type AccessLogFilter = Filter & { readonly stats: Readonly<AccessLogStats> };

export function createAccessLogFilter(options: AccessLogOptions): AccessLogFilter {
  const format = resolveFormat(options);
  const stream = resolveStream(options);
  const maxBuffered = options.maxBufferedBytes ?? 1024 * 1024;
  const now = options.now ?? (() => performance.now());
  const timeOrigin = options.timeOrigin ?? performance.timeOrigin;
  const stats: AccessLogStats = { written: 0, dropped: 0 };
  let failed = false;
  // Without a listener, a stream error would crash the process.
  stream.on?.('error', (err: Error) => {
    if (failed) return;
    failed = true;
    (options.onError ?? ((e: Error) => console.warn(`meta-mesh: access log stopped, its stream failed: ${e.message}`)))(err);
  });

  const log = (call: Call, reply: Reply | undefined, error: unknown): void => {
    if (failed || (stream.writableLength ?? 0) > maxBuffered) {
      stats.dropped++;
      return;
    }
    let line: string;
    try {
      line = format(accessLogEntry(call, reply, error, now(), timeOrigin));
      if (line.charCodeAt(line.length - 1) !== 10) line += '\n';
    } catch {
      stats.dropped++;
      return;
    }
    stream.write(line);
    stats.written++;
  };

  const filter: Filter = (next) => (call) => {
    return settleThrow(next, call).then(
      (reply) => {
        log(call, reply, undefined);
        return reply;
      },
      (err: unknown) => {
        log(call, undefined, err);
        throw err;
      },
    );
  };
  // A copy per read: a caller keeping it sees the figures of that moment.
  return Object.defineProperty(filter, 'stats', { get: (): AccessLogStats => ({ ...stats }), enumerable: true }) as AccessLogFilter;
}

/** The line formatter, compiled once: a format string is parsed here, never per call. */
function resolveFormat(options: AccessLogOptions): (entry: AccessLogEntry) => string {
  const encoding = options.accessLogEncoding ?? 'TEXT';
  if (encoding !== 'TEXT' && encoding !== 'JSON') throw new MeshError(MeshErrorCode.CONFIG, `accessLog.accessLogEncoding is ${JSON.stringify(encoding)}; use TEXT or JSON`);
  if (options.accessLogFormat !== undefined) {
    if (options.format !== undefined) throw new MeshError(MeshErrorCode.CONFIG, 'accessLog takes `format` or `accessLogFormat`, not both');
    const custom = options.accessLogFormat;
    if (encoding === 'JSON') return compileJsonFormat(custom);
    if (typeof custom !== 'string') throw new MeshError(MeshErrorCode.CONFIG, 'accessLog.accessLogFormat must be a string with accessLogEncoding TEXT');
    return compileTextFormat(custom);
  }
  const format = options.format ?? (encoding === 'JSON' ? 'json' : 'text');
  if (typeof format === 'function') return format;
  if (format === 'text') return formatAccessLogText;
  if (format === 'json') return formatAccessLogJson;
  throw new MeshError(MeshErrorCode.CONFIG, `accessLog.format is ${JSON.stringify(format)}; use 'text', 'json' or a function (entry) => string`);
}

function resolveStream(options: AccessLogOptions): AccessLogStream {
  const file = options.accessLogFile;
  if (file !== undefined) {
    if (options.stream !== undefined) throw new MeshError(MeshErrorCode.CONFIG, 'accessLog takes `stream` or `accessLogFile`, not both');
    if (typeof file !== 'string' || file === '') throw new MeshError(MeshErrorCode.CONFIG, 'accessLog.accessLogFile must be a path, /dev/stdout or /dev/stderr');
    if (file === '/dev/stdout') return process.stdout;
    if (file === '/dev/stderr') return process.stderr;
    return fs.createWriteStream(file, { flags: 'a' });
  }
  const stream = options.stream;
  if (stream === null || typeof stream !== 'object' || typeof stream.write !== 'function') {
    throw new MeshError(MeshErrorCode.CONFIG, 'accessLog.stream must be a writable stream (anything with write(string)), e.g. process.stdout or fs.createWriteStream(path); or set accessLogFile');
  }
  return stream;
}
