// Text decodings that exploits hide behind: %XX in URLs and bodies, \xNN in `echo -e`. One linear pass
// each; invalid escapes stay as they are.

/** Every `marker` followed by two hex digits replaced by that byte, in one pass. */
function decodeHexAfter(s: string, marker: string): string {
  let i = s.indexOf(marker);
  if (i < 0) return s;
  const n = marker.length;
  let out = '';
  let last = 0;
  for (; i >= 0 && i + n + 1 < s.length; i = s.indexOf(marker, i + 1)) {
    const hi = hexValue(s.charCodeAt(i + n));
    const lo = hexValue(s.charCodeAt(i + n + 1));
    if (hi < 0 || lo < 0) continue;
    out += s.slice(last, i) + String.fromCharCode(hi * 16 + lo);
    last = i + n + 2;
    i = last - 1;
  }
  return out + s.slice(last);
}

/** %XX decoded once (invalid escapes kept as they are); `+` stays `+`. */
export const percentDecode = (s: string): string => decodeHexAfter(s, '%');

/** `\xNN` escapes (as `echo -e` prints them) decoded; undefined when the text has none. */
export const decodeHexEscapes = (s: string): string | undefined =>
  s.includes('\\x') ? decodeHexAfter(s, '\\x') : undefined;

export function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}
