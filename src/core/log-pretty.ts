// The operational log for a person on a terminal: pino's JSON line turned into one readable line (time,
// level, component, message, the other fields as key=value). Hand-written rather than pino-pretty: a few
// dozen lines, no worker thread and nothing more held in memory. Field values can carry attacker bytes
// (addresses, names, error text): control characters are escaped so nothing reaches the terminal raw.
const LEVELS: Record<number, [name: string, color: string]> = {
  10: ['TRACE', '90'],
  20: ['DEBUG', '36'],
  30: ['INFO ', '32'],
  40: ['WARN ', '33'],
  50: ['ERROR', '31'],
  60: ['FATAL', '35'],
};
/** Fields shown in the line's fixed places, or not at all (pid is the same on every line). */
const PLACED = new Set(['level', 'time', 'pid', 'hostname', 'component', 'msg']);

/** C0 and C1 controls, DEL and the Unicode line separators, as \u escapes. */
const escape = (s: string): string =>
  s.replace(
    // eslint-disable-next-line no-control-regex -- escape sequences are what is matched
    /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g,
    (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'),
  );

function value(v: unknown): string {
  if (typeof v === 'string') return /^[\w.:/@%+,-]*$/.test(v) && v !== '' ? v : escape(JSON.stringify(v));
  if (v && typeof v === 'object' && 'message' in v) {
    const e = v as { message: unknown; code?: unknown };
    return value(typeof e.code === 'string' ? `${String(e.message)} (${e.code})` : String(e.message));
  }
  return escape(JSON.stringify(v) ?? String(v));
}

/** One pino JSON line as a readable line (without the newline); a line that is not JSON is kept, escaped. */
export function prettyLine(json: string, color: boolean): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return escape(json.trimEnd());
  }
  const [name, code] = LEVELS[o.level as number] ?? [String(o.level), '0'];
  const time = typeof o.time === 'string' ? o.time.slice(11, 23) : '';
  const level = color ? `\u001b[${code}m${name}\u001b[0m` : name;
  const parts = [time, level];
  if (typeof o.component === 'string') parts.push(`[${escape(o.component)}]`);
  parts.push(escape(String(o.msg ?? '')));
  for (const [k, v] of Object.entries(o))
    if (!PLACED.has(k) && v !== undefined) parts.push(`${k}=${value(v)}`);
  return parts.join(' ');
}

/** A pino destination that writes readable lines to `out` (pino's own synchronous destination). */
export function prettyDestination(
  out: { write(s: string): unknown },
  color: boolean,
): { write(s: string): boolean } {
  return {
    write(s: string): boolean {
      let lines = '';
      for (const line of s.split('\n')) if (line) lines += prettyLine(line, color) + '\n';
      out.write(lines);
      return true;
    },
  };
}
