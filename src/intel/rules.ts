// The rule engine: compiled rules (rule-file.ts reads and checks them) matched against one session's
// fields. Linear time on attacker bytes: literal conditions (indexOf with a needle of at most
// MAX_LITERAL chars) run first, and regular expressions are RE2 (an automaton, no backtracking), tried only
// when every literal of the rule already matched.
import RE2 from 're2';

import type { App } from './protocol.js';
import { percentDecode } from './decode.js';
import type { HttpRequest } from './http.js';

export type Severity = 'info' | 'low' | 'medium' | 'high' | 'critical';

/** Where a condition looks. http.* fields are per request: a rule matches when one request satisfies it. */
export const FIELDS = [
  'payload',
  'commands',
  'http.method',
  'http.target',
  'http.uri',
  'http.headers',
  'http.body',
  'http.request',
] as const;
export type Field = (typeof FIELDS)[number] | `http.header.${string}`;

export const MAX_LITERAL = 256;
export const MAX_REGEX = 512;

export type Condition =
  | { kind: 'all' | 'any'; of: Condition[] }
  | { kind: 'literal'; field: Field; op: 'contains' | 'equals' | 'prefix'; value: string; nocase: boolean }
  | { kind: 'regex'; field: Field; re: RE2 };

export interface Rule {
  id: string;
  name: string;
  cves: string[];
  tags: string[];
  severity: Severity;
  references: string[];
  apps?: App[];
  ports?: number[];
  when: Condition;
  /** The file the rule came from (error messages). */
  file: string;
  fixture?: { payload: Buffer; port: number; commands?: string[] };
}

export const compileRegex = (source: string, nocase: boolean): RE2 => new RE2(source, nocase ? 'i' : '');

/** The fields of one session, computed lazily and once (lowercased copies too). */
export class MatchInput {
  // Separate caches for the session's fields and the selected request's, raw and lowercased: no key is built
  // per look-up, and selecting another request clears only its own.
  private readonly raws = new Map<Field, string>();
  private readonly lowers = new Map<Field, string>();
  private readonly httpRaws = new Map<Field, string>();
  private readonly httpLowers = new Map<Field, string>();
  private request: HttpRequest | undefined;

  constructor(
    readonly app: App,
    readonly port: number,
    private readonly payloadText: string,
    readonly requests: readonly HttpRequest[],
    private readonly commandText: string,
  ) {}

  /** Selects the HTTP request that http.* fields read (undefined: none). */
  use(r: HttpRequest | undefined): void {
    if (r === this.request) return;
    this.request = r;
    this.httpRaws.clear();
    this.httpLowers.clear();
  }

  get(field: Field, lower: boolean): string {
    const http = field.startsWith('http.');
    const cache = lower ? (http ? this.httpLowers : this.lowers) : http ? this.httpRaws : this.raws;
    let v = cache.get(field);
    if (v === undefined) {
      v = lower ? this.get(field, false).toLowerCase() : this.raw(field);
      cache.set(field, v);
    }
    return v;
  }

  private raw(field: Field): string {
    if (field === 'payload') return this.payloadText;
    if (field === 'commands') return this.commandText;
    const r = this.request;
    if (!r) return '';
    switch (field) {
      case 'http.method':
        return r.method;
      case 'http.target':
        return r.target;
      case 'http.uri':
        return percentDecode(r.target);
      case 'http.headers':
        return r.headers.map(([k, v]) => `${k}: ${v}`).join('\n');
      case 'http.body':
        return percentDecode(r.body);
      case 'http.request':
        return `${this.get('http.uri', false)}\n${this.get('http.headers', false)}\n${this.get('http.body', false)}`;
      default: {
        const name = field.slice('http.header.'.length);
        return r.headers.find(([k]) => k === name)?.[1] ?? '';
      }
    }
  }
}

function test(c: Condition, input: MatchInput): boolean {
  switch (c.kind) {
    case 'all':
      for (const x of c.of) if (!test(x, input)) return false;
      return true;
    case 'any':
      for (const x of c.of) if (test(x, input)) return true;
      return false;
    case 'literal': {
      const v = input.get(c.field, c.nocase);
      if (c.op === 'contains') return v.includes(c.value);
      if (c.op === 'prefix') return v.startsWith(c.value);
      return v === c.value;
    }
    case 'regex':
      return c.re.test(input.get(c.field, false));
  }
}

function usesHttp(c: Condition): boolean {
  if ('of' in c) return c.of.some(usesHttp);
  return c.field.startsWith('http.');
}

/** Does the rule match this session? */
export function matches(rule: Rule, input: MatchInput): boolean {
  if (rule.apps && !rule.apps.includes(input.app)) return false;
  if (rule.ports && !rule.ports.includes(input.port)) return false;
  if (!usesHttp(rule.when)) return test(rule.when, input);
  for (const r of input.requests) {
    input.use(r);
    if (test(rule.when, input)) return true;
  }
  return false;
}

/** Literals first, regular expressions last, within every all/any (cheap tests reject most sessions). */
export function cheapFirst(c: Condition): Condition {
  if (c.kind !== 'all' && c.kind !== 'any') return c;
  const cost = (x: Condition): number => (x.kind === 'literal' ? 0 : x.kind === 'regex' ? 2 : 1);
  return { kind: c.kind, of: c.of.map(cheapFirst).sort((a, b) => cost(a) - cost(b)) };
}

export interface RuleHits {
  rules: string[];
  tags: string[];
  cves: string[];
}

/** Every rule that matches, with the union of their tags and CVEs (sorted, no repeats). */
export function evaluate(rules: readonly Rule[], input: MatchInput): RuleHits {
  const hit: Rule[] = [];
  for (const r of rules) if (matches(r, input)) hit.push(r);
  if (hit.length === 0) return { rules: [], tags: [], cves: [] };
  return {
    rules: hit.map((r) => r.id),
    tags: [...new Set(hit.flatMap((r) => r.tags))].sort(),
    cves: [...new Set(hit.flatMap((r) => r.cves))].sort(),
  };
}
