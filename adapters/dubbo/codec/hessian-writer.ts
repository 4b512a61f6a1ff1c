// The few hessian2 values meta-mesh writes itself: strings (error messages,
// large string results) and string maps (attachments after a mutation),
// byte-compatible with what Java's Hessian2Output and hessian.js write.

/** UTF-16 units per string chunk, as Java and hessian.js chunk. */
const CHUNK = 0x8000;

/** Bytes of `text` as a hessian2 string (CESU-8 data, lengths in UTF-16 units, 32k-unit chunks). */
export function hessianString(text: string): Buffer {
  const out = Buffer.allocUnsafe(hessianStringLength(text));
  writeHessianString(text, out, 0);
  return out;
}

/** The exact size of hessianString(text), computed without encoding it. */
export function hessianStringLength(text: string): number {
  let bytes = Buffer.byteLength(text, 'utf8');
  // CESU-8 writes each half of a surrogate pair as three bytes where UTF-8 writes the pair as four.
  if (bytes !== text.length) bytes += 2 * surrogatePairs(text);
  let headers = 0;
  let left = text.length;
  let offset = 0;
  while (left > CHUNK) {
    const n = chunkLength(text, offset);
    headers += 3;
    offset += n;
    left -= n;
  }
  headers += left <= 31 ? 1 : left <= 1023 ? 2 : 3;
  return bytes + headers;
}

/** Writes `text` as a hessian2 string into `out` at `at`; returns the position after it. */
export function writeHessianString(text: string, out: Buffer, at: number): number {
  let offset = 0;
  let left = text.length;
  while (left > CHUNK) {
    const n = chunkLength(text, offset);
    out[at++] = 0x52;
    out[at++] = n >> 8;
    out[at++] = n & 0xff;
    at = cesu8(text, offset, offset + n, out, at);
    offset += n;
    left -= n;
  }
  if (left <= 31) out[at++] = left;
  else if (left <= 1023) {
    out[at++] = 0x30 + (left >> 8);
    out[at++] = left & 0xff;
  } else {
    out[at++] = 0x53;
    out[at++] = left >> 8;
    out[at++] = left & 0xff;
  }
  return cesu8(text, offset, text.length, out, at);
}

/** A chunk must not end between the halves of a surrogate pair. */
function chunkLength(text: string, offset: number): number {
  const tail = text.charCodeAt(offset + CHUNK - 1);
  return tail >= 0xd800 && tail <= 0xdbff ? CHUNK - 1 : CHUNK;
}

function surrogatePairs(text: string): number {
  let pairs = 0;
  for (let i = 0; i + 1 < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        pairs++;
        i++;
      }
    }
  }
  return pairs;
}

/** UTF-16 units of text[start..end) as CESU-8 into `out` at `at`: surrogate halves are encoded one by one, as Java does. */
function cesu8(text: string, start: number, end: number, out: Buffer, at: number): number {
  let ascii = true;
  for (let i = start; i < end; i++) {
    if (text.charCodeAt(i) >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) return at + out.write(text.slice(start, end), at, 'latin1');
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) out[at++] = c;
    else if (c < 0x800) {
      out[at++] = 0xc0 | (c >> 6);
      out[at++] = 0x80 | (c & 0x3f);
    } else {
      out[at++] = 0xe0 | (c >> 12);
      out[at++] = 0x80 | ((c >> 6) & 0x3f);
      out[at++] = 0x80 | (c & 0x3f);
    }
  }
  return at;
}
