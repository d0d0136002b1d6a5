// The one way a value enters ClickHouse SQL text. The oldest server we support (18.16) has no query
// parameters, so values are written into the text: every value is typed and validated first (numbers
// checked, addresses parsed, names matched against a strict pattern) and then formatted here. The `sql`
// tag accepts only checked numbers and values made by this module, never a bare string, so attacker bytes
// cannot reach the text unescaped by accident.
import { parseAddress } from '../../core/addresses.js';
import { TidewatchError } from '../../core/errors.js';

/** A piece of SQL text that is safe to splice: made by this module only. */
export class Sql {
  private constructor(readonly text: string) {}
  /** @internal */
  static trusted(text: string): Sql {
    return new Sql(text);
  }
  toString(): string {
    return this.text;
  }
}

export type SqlArg = Sql | number | bigint;

function bad(what: string): never {
  throw new TidewatchError('TW_ERR_STORE', `refused to put ${what} into SQL`);
}

/** A whole number (JS safe integer range) or a bigint. Anything else (NaN, fractions, 1e400) throws. */
export function int(n: number | bigint): Sql {
  if (typeof n === 'bigint') return Sql.trusted(n.toString());
  if (!Number.isSafeInteger(n)) bad(`the number ${String(n).slice(0, 30)}`);
  return Sql.trusted(String(n));
}

/** A finite number (fractions allowed), written so ClickHouse reads it back exactly. */
export function num(n: number): Sql {
  if (!Number.isFinite(n)) bad(`the number ${String(n).slice(0, 30)}`);
  return Sql.trusted(Number.isInteger(n) ? String(n) : n.toPrecision(17));
}

const ESCAPES: Record<number, string> = { 0x5c: '\\\\', 0x27: "\\'", 0x0a: '\\n', 0x0d: '\\r', 0x09: '\\t' };

/**
 * A string literal. Backslash and quote are escaped, every other control byte (NUL included) is written
 * as \xHH, so the text stays one printable line whatever the input.
 */
export function str(s: string): Sql {
  let out = "'";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const e = ESCAPES[c];
    if (e) out += e;
    else if (c < 0x20 || c === 0x7f) out += '\\x' + c.toString(16).padStart(2, '0');
    else out += s[i];
  }
  return Sql.trusted(out + "'");
}

/** An IP address (v4 or v6 literal), parsed first; ClickHouse holds addresses as text (no IPv6 type in 18.16). */
export function ip(s: string): Sql {
  if (!parseAddress(s)) bad(`"${s.slice(0, 60)}" as an address`);
  return str(s);
}

/** Bytes as a hex literal for unhex(): only [0-9A-F] reaches the text. */
export function hexBytes(b: Buffer): Sql {
  return Sql.trusted(`unhex('${b.toString('hex').toUpperCase()}')`);
}

/** A UTC day as a Date literal, from a day number (days since 1970-01-01). */
export function day(dayNumber: number): Sql {
  if (!Number.isSafeInteger(dayNumber) || dayNumber < 0 || dayNumber > 65_535) bad(`day ${dayNumber}`);
  return str(new Date(dayNumber * 86_400_000).toISOString().slice(0, 10));
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** A database or table name: letters, digits and _ only (no quoting games). */
export function ident(name: string): Sql {
  if (!IDENT.test(name)) bad(`"${name.slice(0, 60)}" as a name (letters, digits and _ only)`);
  return Sql.trusted(name);
}

export const isIdent = (name: string): boolean => IDENT.test(name);

/** database.table: both parts checked names. */
export function qualified(database: string, name: string): Sql {
  return Sql.trusted(`${ident(database).text}.${ident(name).text}`);
}

/** A comma-separated list of values (for IN (...)); an empty list is refused (IN () is a syntax error). */
export function list(values: readonly Sql[]): Sql {
  if (!values.length) bad('an empty list');
  return Sql.trusted(values.map((v) => v.text).join(', '));
}

/** Fragments joined with a separator (conditions with ' AND '). */
export function join(parts: readonly Sql[], sep: ' AND ' | ', ' | ' '): Sql {
  return Sql.trusted(parts.map((p) => p.text).join(sep));
}

/** The tag: sql`SELECT … WHERE port = ${int(port)} AND src = ${ip(src)}`. */
export function sql(strings: TemplateStringsArray, ...args: SqlArg[]): Sql {
  let out = strings[0]!;
  args.forEach((a, i) => {
    out += (a instanceof Sql ? a : int(a)).text + strings[i + 1]!;
  });
  return Sql.trusted(out);
}

export const EMPTY = Sql.trusted('');
