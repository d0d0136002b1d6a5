// Fields of ClickHouse's TabSeparated format, the one serialization of a shipped row: tab between fields,
// one row per line. Text is escaped so that no byte below 0x20 and no backslash reaches the row raw (the
// row separator and the spool's record separator can never occur inside a field); numbers are checked
// so that a bad value costs that field, never the whole insert (a UInt column refuses "-5" or "NaN").
// Every server from 18.16 on reads these escapes.

const ESCAPES: Record<string, string> = {
  '\\': '\\\\',
  '\t': '\\t',
  '\n': '\\n',
  '\r': '\\r',
  '\0': '\\0',
  '\b': '\\b',
  '\f': '\\f',
};
// eslint-disable-next-line no-control-regex
const SPECIAL = /[\x00-\x1f\\]/;
// eslint-disable-next-line no-control-regex
const SPECIALS = /[\x00-\x1f\\]/g;
const escapeOne = (c: string): string => ESCAPES[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;

/** A String field: backslash and control characters escaped (linear, one pass; most text has none). */
export function text(s: string): string {
  return SPECIAL.test(s) ? s.replace(SPECIALS, escapeOne) : s;
}

/** A UInt field: a non-negative integer, anything else (negative, NaN, beyond 2^53) as 0. */
export function uint(n: number): string {
  return n >= 0 && n <= Number.MAX_SAFE_INTEGER ? String(Math.floor(n)) : '0';
}

/** A Float64 field: finite, else 0. */
export function float(n: number): string {
  return Number.isFinite(n) ? String(n) : '0';
}

/** An Array(String) field: ['a','b'], each element quoted with ' and \\ escaped, then as text(). */
export function texts(xs: readonly string[]): string {
  return `[${xs.map((x) => `'${text(x).replaceAll("'", "\\'")}'`).join(',')}]`;
}
