// HTTP persona: a pure request parser (request line and headers, capped, split anywhere) and a handler
// that answers a 200 page for / and a 404 elsewhere, keeping the connection for a few requests.
import type { HttpRequestInfo } from '../core/events.js';
import { text } from './text.js';
import type { PersonaConn, PersonaHandler } from './types.js';

/** Request line and headers of one request at most; a longer head is answered 431 and the session ends. */
export const MAX_HEAD_BYTES = 16 * 1024;
/** Requests answered on one connection (keep-alive) before it is closed. */
export const MAX_REQUESTS = 5;
/** Body bytes skipped per request at most (Content-Length beyond it ends the session after the answer). */
export const MAX_BODY_BYTES = 64 * 1024;

export interface HttpRequest extends HttpRequestInfo {
  version: string;
  keepAlive: boolean;
  contentLength: number;
}

/** Parses one request head (without the blank line); undefined when it is not HTTP. */
export function parseHead(head: Buffer): HttpRequest | undefined {
  const lines = head.toString('latin1').split('\n');
  const first = lines[0]!.replace(/\r$/, '');
  const sp1 = first.indexOf(' ');
  const sp2 = first.lastIndexOf(' ');
  if (sp1 <= 0 || sp2 <= sp1) return undefined;
  const method = first.slice(0, sp1);
  const version = first.slice(sp2 + 1);
  if (!version.startsWith('HTTP/')) return undefined;
  const req: HttpRequest = {
    method: text(method, 32),
    path: text(Buffer.from(first.slice(sp1 + 1, sp2), 'latin1'), 2048),
    version,
    keepAlive: version === 'HTTP/1.1',
    contentLength: 0,
  };
  for (let i = 1; i < lines.length; i++) {
    const l = lines[i]!;
    const c = l.indexOf(':');
    if (c <= 0) continue;
    const name = l.slice(0, c).trim().toLowerCase();
    const value = l.slice(c + 1).trim();
    if (name === 'host') req.host = text(Buffer.from(value, 'latin1'), 256);
    else if (name === 'user-agent') req.user_agent = text(Buffer.from(value, 'latin1'), 512);
    else if (name === 'connection') {
      const v = value.toLowerCase();
      if (v.includes('close')) req.keepAlive = false;
      else if (v.includes('keep-alive')) req.keepAlive = true;
    } else if (name === 'content-length') {
      const n = Number(value);
      req.contentLength = Number.isSafeInteger(n) && n >= 0 ? n : 0;
    }
  }
  return req;
}

/** Splits a byte stream into request heads, skipping bodies (Content-Length). */
export class HttpReader {
  private buf = Buffer.alloc(0);
  private skip = 0;
  /** Set when a head passed MAX_HEAD_BYTES: the caller answers 431 and ends. */
  overflow = false;

  push(d: Buffer): (HttpRequest | 'bad')[] {
    if (this.skip) {
      const n = Math.min(this.skip, d.length);
      this.skip -= n;
      d = d.subarray(n);
    }
    if (!d.length) return [];
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : Buffer.from(d);
    const out: (HttpRequest | 'bad')[] = [];
    for (;;) {
      const end = headEnd(this.buf);
      if (end < 0) {
        if (this.buf.length > MAX_HEAD_BYTES) {
          this.overflow = true;
          this.buf = Buffer.alloc(0);
        }
        return out;
      }
      const req = parseHead(this.buf.subarray(0, end));
      let rest = this.buf.subarray(end + (this.buf[end] === 0x0d ? 4 : 2));
      if (!req) {
        out.push('bad');
        this.buf = Buffer.alloc(0);
        return out;
      }
      out.push(req);
      const body = Math.min(req.contentLength, rest.length);
      this.skip = req.contentLength - body;
      rest = rest.subarray(body);
      this.buf = Buffer.from(rest);
      if (!this.buf.length) return out;
    }
  }
}

/** Index of the blank line ending a head (\r\n\r\n or \n\n), or -1. */
function headEnd(b: Buffer): number {
  const crlf = b.indexOf('\r\n\r\n');
  const lf = b.indexOf('\n\n');
  if (crlf < 0) return lf;
  if (lf < 0) return crlf;
  return Math.min(crlf, lf);
}

const STATUS: Record<number, string> = {
  200: 'OK',
  400: 'Bad Request',
  404: 'Not Found',
  431: 'Request Header Fields Too Large',
};

function notFound(server: string): string {
  const name = server.split('/')[0]!;
  return `<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n<center><h1>404 Not Found</h1></center>\r\n<hr><center>${name}</center>\r\n</body>\r\n</html>\r\n`;
}

export function httpPersona(conn: PersonaConn): PersonaHandler {
  const reader = new HttpReader();
  let answered = 0;
  const reply = (status: number, body: string, keepAlive: boolean, head = false) => {
    const date = new Date().toUTCString();
    const len = Buffer.byteLength(body);
    conn.send(
      `HTTP/1.1 ${status} ${STATUS[status]}\r\nServer: ${conn.text.server}\r\nDate: ${date}\r\n` +
        `Content-Type: text/html\r\nContent-Length: ${len}\r\n` +
        `Connection: ${keepAlive ? 'keep-alive' : 'close'}\r\n\r\n` +
        (head ? '' : body),
    );
    if (!keepAlive) conn.end();
  };
  return {
    onData(d) {
      for (const r of reader.push(d)) {
        if (conn.ended) return;
        if (r === 'bad') return reply(400, '', false);
        answered++;
        if (!conn.record.addHttp({ method: r.method, path: r.path, ...pick(r) })) return conn.end();
        const last = answered >= MAX_REQUESTS || !r.keepAlive || r.contentLength > MAX_BODY_BYTES;
        const path = r.path.split('?')[0];
        const ok = path === '/' || path === '/index.html';
        reply(ok ? 200 : 404, ok ? conn.text.body : notFound(conn.text.server), !last, r.method === 'HEAD');
      }
      if (reader.overflow && !conn.ended) reply(431, '', false);
    },
  };
}

function pick(r: HttpRequest): Partial<HttpRequestInfo> {
  const o: Partial<HttpRequestInfo> = {};
  if (r.host !== undefined) o.host = r.host;
  if (r.user_agent !== undefined) o.user_agent = r.user_agent;
  return o;
}
