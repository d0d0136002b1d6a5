// A pure HTTP/1.x request parser for what a session kept: request line, headers and body of up to
// MAX_REQUESTS pipelined or keep-alive requests. One pass over the bytes (indexOf on CR LF), nothing
// decoded twice; header count and every recorded string are capped.
import type { HttpRequestInfo } from '../core/events.js';
import { isHttpRequest } from './protocol.js';

/** What the rules and signatures read: the whole target, every header (lowercase names) and the body. */
export interface HttpRequest {
  method: string;
  /** Request target as sent (path and query), up to the kept bytes. */
  target: string;
  headers: [string, string][];
  body: string;
}

export const MAX_REQUESTS = 4;
export const MAX_HEADERS = 64;
/** Lengths kept in the `http` record (the rules see the whole request). */
export const HTTP_FIELD_CAPS = { method: 16, path: 512, host: 256, user_agent: 256 } as const;

const cap = (s: string, n: number): string => (s.length > n ? s.slice(0, n) : s);

/** Parses the requests in `text` (latin1: one char per byte). Empty when it does not start with one. */
export function parseRequests(bytes: Buffer): HttpRequest[] {
  const out: HttpRequest[] = [];
  const text = bytes.toString('latin1', 0, bytes.length);
  let at = 0;
  while (out.length < MAX_REQUESTS && at < text.length) {
    if (!isHttpRequest(at === 0 ? bytes : bytes.subarray(at))) break;
    const r = parseOne(text, at);
    out.push(r.req);
    if (r.next <= at) break;
    at = r.next;
  }
  return out;
}

function parseOne(text: string, at: number): { req: HttpRequest; next: number } {
  const lineEnd = endOfLine(text, at);
  const line = text.slice(at, lineEnd.end);
  const sp1 = line.indexOf(' ');
  const sp2 = line.lastIndexOf(' ');
  const method = line.slice(0, sp1);
  const target =
    sp2 > sp1 && line.startsWith('HTTP/', sp2 + 1) ? line.slice(sp1 + 1, sp2) : line.slice(sp1 + 1);
  const headers: [string, string][] = [];
  let i = lineEnd.next;
  let complete = false;
  while (i < text.length) {
    const e = endOfLine(text, i);
    if (e.end === i) {
      i = e.next;
      complete = e.next > e.end;
      break;
    }
    if (headers.length < MAX_HEADERS) {
      const colon = text.indexOf(':', i);
      if (colon > i && colon < e.end)
        headers.push([text.slice(i, colon).trim().toLowerCase(), text.slice(colon + 1, e.end).trim()]);
    }
    i = e.next;
  }
  const lenHeader = headers.find(([k]) => k === 'content-length')?.[1];
  const n = lenHeader !== undefined && lenHeader.length <= 9 ? Number(lenHeader) : NaN;
  const declared = Number.isInteger(n) && n >= 0 ? n : undefined;
  // Without a length the body runs to the end of what was kept (a POST's body, or nothing).
  const bodyEnd = complete ? Math.min(text.length, declared !== undefined ? i + declared : text.length) : i;
  return {
    req: { method, target, headers, body: text.slice(i, bodyEnd) },
    next: complete ? bodyEnd : text.length,
  };
}

/** The end of the line starting at i (before CR LF or LF) and where the next line starts. */
function endOfLine(text: string, i: number): { end: number; next: number } {
  const lf = text.indexOf('\n', i);
  if (lf < 0) return { end: text.length, next: text.length };
  return { end: lf > i && text.charCodeAt(lf - 1) === 13 ? lf - 1 : lf, next: lf + 1 };
}

export const header = (r: HttpRequest, name: string): string | undefined =>
  r.headers.find(([k]) => k === name)?.[1];

/** The bounded public record of a parsed request. */
export function recordOf(r: HttpRequest): HttpRequestInfo {
  const rec: HttpRequestInfo = {
    method: cap(r.method, HTTP_FIELD_CAPS.method),
    path: cap(r.target, HTTP_FIELD_CAPS.path),
  };
  const host = header(r, 'host');
  const ua = header(r, 'user-agent');
  if (host !== undefined) rec.host = cap(host, HTTP_FIELD_CAPS.host);
  if (ua !== undefined) rec.user_agent = cap(ua, HTTP_FIELD_CAPS.user_agent);
  return rec;
}
