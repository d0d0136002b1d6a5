// Building blocks for the one config schema: every option has a kind, a default, a unit and help text,
// and a zod schema that turns what a flag, an env variable or TOML gives into a typed value.
import { z } from 'zod';
import { parseDuration, parsePorts, parseSize } from './units.js';

type Raw = string | number | boolean | (string | number)[];

export interface Option<T> {
  kind: 'string' | 'boolean' | 'int' | 'number' | 'duration' | 'size' | 'ports' | 'list' | 'choice';
  default: Raw;
  help: string;
  /** Placeholder shown in --help, e.g. SECONDS or LIST. */
  arg?: string;
  schema: z.ZodType<T, Raw>;
}

const scalar = z.union([z.string(), z.number(), z.boolean()]);
const listish = z.union([scalar, z.array(z.union([z.string(), z.number()]))]);

function fail(ctx: z.RefinementCtx, message: string): typeof z.NEVER {
  ctx.addIssue({ code: 'custom', message });
  return z.NEVER;
}

export function str(def: string, help: string, arg = 'TEXT'): Option<string> {
  return { kind: 'string', default: def, help, arg, schema: scalar.transform((v) => String(v)) as never };
}

export function bool(def: boolean, help: string): Option<boolean> {
  const schema = scalar.transform((v, ctx) => {
    if (typeof v === 'boolean') return v;
    const s = String(v).toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(s)) return true;
    if (['0', 'false', 'no', 'off'].includes(s)) return false;
    return fail(ctx, `"${v}" is not a boolean: write true or false`);
  });
  return { kind: 'boolean', default: def, help, schema: schema as never };
}

export function int(def: number, help: string, min: number, max: number, arg = 'N'): Option<number> {
  const schema = scalar.transform((v, ctx) => {
    const n = typeof v === 'number' ? v : /^\s*-?\d+\s*$/.test(String(v)) ? Number(v) : NaN;
    if (!Number.isInteger(n) || n < min || n > max)
      return fail(ctx, `"${v}" is not a whole number from ${min} to ${max}`);
    return n;
  });
  return { kind: 'int', default: def, help, arg, schema: schema as never };
}

export function num(def: number, help: string, min: number, max: number, arg = 'X'): Option<number> {
  const schema = scalar.transform((v, ctx) => {
    const n = typeof v === 'number' ? v : Number(String(v).trim() || 'x');
    if (!Number.isFinite(n) || n < min || n > max)
      return fail(ctx, `"${v}" is not a number from ${min} to ${max}`);
    return n;
  });
  return { kind: 'number', default: def, help, arg, schema: schema as never };
}

/** Duration: value in milliseconds. Accepts 500ms, 30s, 5m, 1h, 2d, or a bare number of seconds. */
export function duration(def: string, help: string): Option<number> {
  const schema = scalar.transform((v, ctx) => {
    const ms = typeof v === 'boolean' ? undefined : parseDuration(v);
    return ms === undefined ? fail(ctx, `"${v}" is not a duration: write 30s, 5m, 1h or 2d`) : ms;
  });
  return { kind: 'duration', default: def, help, arg: 'DURATION', schema: schema as never };
}

/** Size: value in bytes. Accepts 8192, 8KiB, 64MiB, 1GB. */
export function size(def: string | number, help: string): Option<number> {
  const schema = scalar.transform((v, ctx) => {
    const b = typeof v === 'boolean' ? undefined : parseSize(v);
    return b === undefined ? fail(ctx, `"${v}" is not a size: write 8192, 8KiB, 64MiB or 1GB`) : b;
  });
  return { kind: 'size', default: def, help, arg: 'SIZE', schema: schema as never };
}

export function ports(def: string, help: string): Option<number[]> {
  const schema = listish.transform((v, ctx) => {
    const parsed = parsePorts(Array.isArray(v) ? v.join(',') : String(v));
    return typeof parsed === 'string' ? fail(ctx, parsed) : parsed;
  });
  return { kind: 'ports', default: def, help, arg: 'PORTS', schema: schema as never };
}

/** Comma-separated list (or a TOML array) of non-empty strings. */
export function list(def: string, help: string, arg = 'LIST'): Option<string[]> {
  const schema = listish.transform((v) =>
    (Array.isArray(v) ? v.map(String) : String(v).split(',')).map((s) => s.trim()).filter((s) => s !== ''),
  );
  return { kind: 'list', default: def, help, arg, schema: schema as never };
}

export function choice<const T extends readonly string[]>(
  values: T,
  def: T[number],
  help: string,
): Option<T[number]> {
  const schema = scalar.transform((v, ctx) => {
    const s = String(v);
    return (values as readonly string[]).includes(s)
      ? (s as T[number])
      : fail(ctx, `"${v}" is not one of ${values.join(', ')}`);
  });
  return { kind: 'choice', default: def, help, arg: values.join('|'), schema: schema as never };
}
