// Reads rule files (TOML, docs/rules.md) into compiled rules. Every problem is one line naming the file, the
// rule id and the fix; a bad rule refuses the whole set (the caller keeps the old one at reload).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';

import { parse as parseToml } from 'smol-toml';

import { TidewatchError } from '../core/errors.js';
import { APPS, type App } from './protocol.js';
import {
  cheapFirst,
  compileRegex,
  type Condition,
  type Field,
  FIELDS,
  MAX_LITERAL,
  MAX_REGEX,
  type Rule,
  type Severity,
} from './rules.js';

const SEVERITIES: readonly Severity[] = ['info', 'low', 'medium', 'high', 'critical'];
const RULE_KEYS = new Set([
  'id',
  'name',
  'cves',
  'tags',
  'severity',
  'references',
  'app',
  'ports',
  'all',
  'any',
  'fixture',
  'fixture_hex',
  'fixture_port',
  'fixture_commands',
]);
const COND_KEYS = new Set(['field', 'contains', 'equals', 'prefix', 'regex', 'nocase', 'all', 'any']);
/** Rules in one set at most (each costs time per session). */
export const MAX_RULES = 2000;
const MAX_DEPTH = 4;

const ID = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const TAG = /^[a-z0-9][a-z0-9:._-]{0,63}$/;
const CVE = /^CVE-\d{4}-\d{4,7}$/;

export class RuleError extends TidewatchError {
  constructor(file: string, id: string | undefined, problem: string) {
    super('TW_ERR_RULES', `${file}${id ? `: rule "${id}"` : ''}: ${problem}`);
    this.name = 'RuleError';
  }
}

type Table = Record<string, unknown>;
const isTable = (v: unknown): v is Table => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parses one TOML rule file's text. */
export function parseRules(text: string, file: string): Rule[] {
  let doc: Table;
  try {
    doc = parseToml(text) as Table;
  } catch (err) {
    const msg = err instanceof Error ? err.message.split('\n')[0]! : String(err);
    throw new RuleError(file, undefined, `not valid TOML (${msg}): fix the syntax`);
  }
  const extra = Object.keys(doc).filter((k) => k !== 'rule');
  if (extra.length)
    throw new RuleError(file, undefined, `unknown key "${extra[0]}": rules go in [[rule]] tables`);
  const list = doc.rule ?? [];
  if (!Array.isArray(list)) throw new RuleError(file, undefined, 'write each rule as a [[rule]] table');
  return list.map((t, i) => {
    if (!isTable(t)) throw new RuleError(file, undefined, `rule ${i + 1} is not a table: write [[rule]]`);
    return compileRule(t, file);
  });
}

function compileRule(t: Table, file: string): Rule {
  const id = typeof t.id === 'string' ? t.id : undefined;
  const fail = (problem: string): never => {
    throw new RuleError(file, id, problem);
  };
  if (!id || !ID.test(id)) fail('needs an id of lowercase letters, digits, ".", "_" or "-" (at most 64)');
  for (const k of Object.keys(t)) if (!RULE_KEYS.has(k)) fail(`unknown key "${k}": see docs/rules.md`);
  if (typeof t.name !== 'string' || !t.name) fail('needs a name = "…"');
  const strings = (k: string, re?: RegExp, what = ''): string[] => {
    const v = t[k] ?? [];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))
      return fail(`${k} must be a list of strings`);
    for (const x of v as string[]) if (re && !re.test(x)) fail(`${k} entry "${x}" is not ${what}`);
    return v as string[];
  };
  const severity = (t.severity ?? 'medium') as Severity;
  if (!SEVERITIES.includes(severity)) fail(`severity must be one of ${SEVERITIES.join(', ')}`);
  const apps = t.app === undefined ? undefined : [t.app].flat();
  if (apps && apps.some((a) => !APPS.includes(a as App))) fail(`app must be among ${APPS.join(', ')}`);
  const ports = t.ports === undefined ? undefined : [t.ports].flat();
  if (ports && ports.some((p) => typeof p !== 'number' || !Number.isInteger(p) || p < 0 || p > 65535))
    fail('ports must be a list of port numbers');
  if (t.all === undefined && t.any === undefined)
    fail('needs match conditions: all = [...] and/or any = [...]');
  const parts: Condition[] = [];
  for (const kind of ['all', 'any'] as const)
    if (t[kind] !== undefined) parts.push({ kind, of: conditions(t[kind], fail, 1) });
  return {
    id: id!,
    name: t.name as string,
    cves: strings('cves', CVE, 'a CVE id such as CVE-2021-44228'),
    tags: strings('tags', TAG, 'a lowercase tag (letters, digits, ":", ".", "_", "-")'),
    severity,
    references: strings('references', /^https?:\/\/\S+$/, 'an http(s) URL'),
    apps: apps as App[] | undefined,
    ports: ports as number[] | undefined,
    when: cheapFirst(parts.length === 1 ? parts[0]! : { kind: 'all', of: parts }),
    file,
    fixture: fixture(t, fail),
  };
}

function conditions(v: unknown, fail: (p: string) => never, depth: number): Condition[] {
  if (!Array.isArray(v) || v.length === 0) return fail('all/any must be a non-empty list of conditions');
  if (depth > MAX_DEPTH) return fail(`all/any nest at most ${MAX_DEPTH} deep`);
  return v.map((c) => condition(c, fail, depth));
}

function condition(c: unknown, fail: (p: string) => never, depth: number): Condition {
  if (!isTable(c)) return fail('a condition is an inline table: { field = "payload", contains = "…" }');
  for (const k of Object.keys(c))
    if (!COND_KEYS.has(k)) fail(`unknown condition key "${k}": see docs/rules.md`);
  if (c.all !== undefined || c.any !== undefined) {
    if (c.all !== undefined && c.any !== undefined) fail('a condition has either all or any, not both');
    const kind = c.all !== undefined ? 'all' : 'any';
    return { kind, of: conditions(c[kind], fail, depth + 1) };
  }
  const field = c.field;
  if (
    typeof field !== 'string' ||
    !((FIELDS as readonly string[]).includes(field) || /^http\.header\.[a-z0-9-]{1,64}$/.test(field))
  )
    return fail(`field must be one of ${FIELDS.join(', ')} or http.header.<lowercase name>`);
  const ops = (['contains', 'equals', 'prefix', 'regex'] as const).filter((k) => c[k] !== undefined);
  if (ops.length !== 1) return fail('a condition needs exactly one of contains, equals, prefix, regex');
  const op = ops[0]!;
  const value = c[op];
  if (typeof value !== 'string' || value === '') return fail(`${op} needs a non-empty string`);
  const nocase = c.nocase === true;
  if (op === 'regex') {
    if (value.length > MAX_REGEX) fail(`regex longer than ${MAX_REGEX} characters: shorten it`);
    try {
      return { kind: 'regex', field: field as Field, re: compileRegex(value, nocase) };
    } catch (err) {
      return fail(
        `regex /${value}/ is not valid RE2 syntax (${(err as Error).message}): fix it (no lookaround or backreferences)`,
      );
    }
  }
  if (value.length > MAX_LITERAL) fail(`${op} value longer than ${MAX_LITERAL} characters: shorten it`);
  return { kind: 'literal', field: field as Field, op, value: nocase ? value.toLowerCase() : value, nocase };
}

function fixture(t: Table, fail: (p: string) => never): Rule['fixture'] {
  if (t.fixture === undefined && t.fixture_hex === undefined) return undefined;
  let payload: Buffer;
  if (typeof t.fixture === 'string') payload = Buffer.from(t.fixture, 'latin1');
  else if (typeof t.fixture_hex === 'string' && /^([0-9a-f]{2})+$/i.test(t.fixture_hex))
    payload = Buffer.from(t.fixture_hex, 'hex');
  else return fail('fixture must be a string (or fixture_hex a string of hex digits)');
  const port = t.fixture_port ?? 80;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535)
    fail('fixture_port must be a port number');
  const commands = t.fixture_commands;
  if (commands !== undefined && (!Array.isArray(commands) || commands.some((x) => typeof x !== 'string')))
    fail('fixture_commands must be a list of strings');
  return { payload, port: port as number, commands: commands as string[] | undefined };
}

/** Reads every *.toml file of a directory (sorted by name); rule ids must be unique across the set. */
export function loadRuleDir(dir: string): Rule[] {
  let names: string[];
  try {
    if (!statSync(dir).isDirectory()) throw new Error('not a directory');
    names = readdirSync(dir)
      .filter((n) => n.endsWith('.toml'))
      .sort();
  } catch (err) {
    throw new RuleError(
      dir,
      undefined,
      `cannot read the rules directory (${(err as Error).message}): check --rules`,
    );
  }
  return names.flatMap((n) => parseRules(readFileSync(join(dir, n), 'utf8'), join(dir, n)));
}

/** Joins rule sets, refusing a repeated id (naming both files) and more than MAX_RULES rules. */
export function joinRuleSets(sets: Rule[][]): Rule[] {
  const seen = new Map<string, Rule>();
  const all = sets.flat();
  for (const r of all) {
    const before = seen.get(r.id);
    if (before)
      throw new RuleError(
        r.file,
        r.id,
        `id already used in ${basename(before.file)}: give the rule another id`,
      );
    seen.set(r.id, r);
  }
  if (all.length > MAX_RULES)
    throw new RuleError('rules', undefined, `more than ${MAX_RULES} rules: remove some`);
  return all;
}
