// The few hessian2 values meta-mesh writes itself: strings (error messages)
// and string maps (attachments after a mutation), byte-compatible with what
// Java's Hessian2Output and hessian.js write.

/** Bytes of `text` as a hessian2 string (CESU-8 data, lengths in UTF-16 units, 32k-unit chunks). */
export function hessianString(text: string): Buffer {
  const parts: Buffer[] = [];
  let offset = 0;
  let left = text.length;
  while (left > 0x8000) {
    let n = 0x8000;
    // A chunk must not end between the halves of a surrogate pair.
    const tail = text.charCodeAt(offset + n - 1);
    if (tail >= 0xd800 && tail <= 0xdbff) n--;
    parts.push(Buffer.from([0x52, n >> 8, n & 0xff]), cesu8(text, offset, offset + n));
    offset += n;
    left -= n;
  }
  let head: Buffer;
  if (left <= 31) head = Buffer.from([left]);
  else if (left <= 1023) head = Buffer.from([0x30 + (left >> 8), left & 0xff]);
  else head = Buffer.from([0x53, left >> 8, left & 0xff]);
  parts.push(head, cesu8(text, offset, text.length));
  return parts.length === 2 ? Buffer.concat(parts, head.length + parts[1]!.length) : Buffer.concat(parts);
}

/** UTF-16 units of text[start..end) as CESU-8: surrogate halves are encoded one by one, as Java does. */
function cesu8(text: string, start: number, end: number): Buffer {
  let ascii = true;
  for (let i = start; i < end; i++) {
    if (text.charCodeAt(i) >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) return Buffer.from(text.slice(start, end), 'latin1');
  const out = Buffer.allocUnsafe((end - start) * 3);
  let p = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) out[p++] = c;
    else if (c < 0x800) {
      out[p++] = 0xc0 | (c >> 6);
      out[p++] = 0x80 | (c & 0x3f);
    } else {
      out[p++] = 0xe0 | (c >> 12);
      out[p++] = 0x80 | ((c >> 6) & 0x3f);
      out[p++] = 0x80 | (c & 0x3f);
    }
  }
  return out.subarray(0, p);
}
