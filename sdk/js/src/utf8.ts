/**
 * UTF-8 without `TextEncoder`: QuickJS components do not have it, and `list<u8>` (inbound
 * bodies, HTTP bodies, store values) must be bytes.
 * @module
 */

/** The UTF-8 bytes of `text` (lone surrogates become U+FFFD, as TextEncoder does). */
export function encodeUtf8(text: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      } else c = 0xfffd;
    } else if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return Uint8Array.from(out);
}

/** Decodes UTF-8 `bytes`; invalid sequences become U+FFFD (like Rust's `from_utf8_lossy`). */
export function decodeUtf8(bytes: Uint8Array | readonly number[]): string {
  let out = "";
  const n = bytes.length;
  for (let i = 0; i < n; ) {
    const b = bytes[i]!;
    let cp = 0xfffd;
    let len = 1;
    const cont = (k: number): number => {
      const x = bytes[i + k];
      return x !== undefined && (x & 0xc0) === 0x80 ? x & 63 : -1;
    };
    if (b < 0x80) cp = b;
    else if (b >= 0xc2 && b < 0xe0) {
      const c1 = cont(1);
      if (c1 >= 0) [cp, len] = [((b & 31) << 6) | c1, 2];
    } else if (b >= 0xe0 && b < 0xf0) {
      const c1 = cont(1), c2 = cont(2);
      if (c1 >= 0 && c2 >= 0) {
        const v = ((b & 15) << 12) | (c1 << 6) | c2;
        if (v >= 0x800 && (v < 0xd800 || v > 0xdfff)) [cp, len] = [v, 3];
      }
    } else if (b >= 0xf0 && b < 0xf5) {
      const c1 = cont(1), c2 = cont(2), c3 = cont(3);
      if (c1 >= 0 && c2 >= 0 && c3 >= 0) {
        const v = ((b & 7) << 18) | (c1 << 12) | (c2 << 6) | c3;
        if (v >= 0x10000 && v <= 0x10ffff) [cp, len] = [v, 4];
      }
    }
    out += String.fromCodePoint(cp);
    i += len;
  }
  return out;
}

/**
 * Compares two secrets (a password, a shared header value) in time that does not depend on
 * where they first differ, so a caller cannot guess them byte by byte.
 *
 * @example
 * ```ts
 * secretsEqual("s3cret", "s3cret"); // true
 * secretsEqual("s3cret", "s3creT"); // false
 * ```
 */
export function secretsEqual(a: string, b: string): boolean {
  const x = encodeUtf8(a);
  const y = encodeUtf8(b);
  if (x.length !== y.length) return false;
  let acc = 0;
  for (let i = 0; i < x.length; i++) acc |= x[i]! ^ y[i]!;
  return acc === 0;
}
