// One session's intelligence, from its kept bytes alone: protocol, HTTP requests, rule hits, IOCs and
// signature. Pure (no state, no I/O): the annotator (index.ts), the tests and bench/intel call it alike.
import type { HttpRequestInfo } from '../core/events.js';
import { percentDecode } from './decode.js';
import { type HttpRequest, parseRequests, recordOf } from './http.js';
import { extractIocs, type Iocs } from './iocs.js';
import { identify, type App } from './protocol.js';
import { evaluate, MatchInput, type Rule, type RuleHits } from './rules.js';
import { type Signature, signatureOf } from './signature.js';

export interface SessionBytes {
  proto: 'tcp' | 'tls' | 'udp';
  dport: number;
  payload: Buffer;
  /** Command lines a responder recorded, when there are any. */
  commands?: readonly string[];
}

export interface Intel extends RuleHits {
  app: App;
  http: HttpRequestInfo[];
  iocs?: Iocs;
  /** Absent for a session that sent nothing. */
  signature?: Signature;
}

/** Headers whose URLs are the client's own context, not something to fetch. */
const CONTEXT_HEADERS = new Set(['host', 'referer', 'origin']);

/** The texts IOCs are looked for in: decoded request parts, or the raw bytes; plus commands. */
function iocTexts(s: SessionBytes, payloadText: string, requests: readonly HttpRequest[]): string[] {
  const texts: string[] = [];
  if (requests.length === 0) texts.push(payloadText);
  for (const r of requests) {
    // In a query or a form body, + is a blank (`cd+/tmp;+wget+http://…`).
    texts.push(percentDecode(r.target.replaceAll('+', ' ')), percentDecode(r.body.replaceAll('+', ' ')));
    for (const [k, v] of r.headers) if (!CONTEXT_HEADERS.has(k)) texts.push(v);
  }
  if (s.commands?.length) texts.push(s.commands.join('\n'));
  return texts;
}

export function classify(s: SessionBytes, rules: readonly Rule[]): Intel {
  const app = identify(s.payload, s.proto);
  const requests = app === 'http' ? parseRequests(s.payload) : [];
  const payloadText = s.payload.toString('latin1', 0, s.payload.length);
  const input = new MatchInput(app, s.dport, payloadText, requests, s.commands?.join('\n') ?? '');
  const hits = evaluate(rules, input);
  const iocs = extractIocs(iocTexts(s, payloadText, requests));
  const out: Intel = { app, http: requests.map(recordOf), ...hits };
  if (iocs) out.iocs = iocs;
  if (s.payload.length > 0) out.signature = signatureOf(app, s.payload, requests);
  return out;
}
