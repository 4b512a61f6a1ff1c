// ConfigFileBytes: a manifest file as read from disk, and its text.

import type { ConfigSource } from './parse-config';

/**
 * A manifest file as read: its bytes. The text is decoded where the config is
 * parsed: for a large config, in the parser thread (decoding 8 MB of UTF-8
 * took the main loop ~11 ms in one turn, and copying the text to the thread
 * 12-22 ms more, where the bytes move to it in well under a millisecond).
 */
export interface ConfigFileBytes {
  readonly file: string;
  readonly bytes: Buffer;
}

/** The text of a source, read as bytes (a Buffer, or the plain Uint8Array a thread receives them as) or given as text. */
export function sourceText(source: ConfigSource | { readonly file: string; readonly bytes: Uint8Array }): ConfigSource {
  if ('text' in source) return source;
  const { bytes } = source;
  return { file: source.file, text: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8') };
}
