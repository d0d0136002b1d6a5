// Session signatures: what stays the same when one campaign hits many sensors from many sources. For HTTP the
// method, the path template (digit, hex, UUID and base64 runs masked) and the sorted parameter names; for other
// protocols the app plus a masked prefix of the first bytes; beside it the exact payload's sha256.
import { hash } from 'node:crypto';

import type { HttpRequest } from './http.js';
import type { App } from './protocol.js';

export interface Signature {
  /** The template that sessions of one campaign share, e.g. `http GET /cgi-bin/<n>.cgi ?cmd&id`. */
  template: string;
  /** sha256 of the kept bytes, hex. */
  sha256: string;
}

export const MAX_TEMPLATE = 256;
/** Bytes of a non-HTTP payload that its template shows. */
export const PREFIX_BYTES = 24;
const MAX_PARAMS = 16;

const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isHexLetter = (c: number): boolean => (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
const isAlpha = (c: number): boolean => (c >= 97 && c <= 122) || (c >= 65 && c <= 90);

/** A run of letters and digits, masked when it is a number, a hex string or a base64-looking blob. */
function maskRun(run: string): string {
  let digits = 0;
  let hex = 0;
  let upper = 0;
  let lower = 0;
  for (let i = 0; i < run.length; i++) {
    const c = run.charCodeAt(i);
    if (isDigit(c)) digits++;
    else if (isHexLetter(c)) hex++;
    if (c >= 65 && c <= 90) upper++;
    else if (c >= 97 && c <= 122) lower++;
  }
  if (digits === run.length) return '<n>';
  if (run.length >= 8 && digits + hex === run.length && digits > 0) return '<hex>';
  if (run.length >= 16 && digits > 0 && upper > 0 && lower > 0) return '<b64>';
  return run;
}

const UUID_DASHES = [8, 13, 18, 23];
function isUuidAt(s: string, i: number): boolean {
  if (i + 36 > s.length) return false;
  for (let k = 0; k < 36; k++) {
    const c = s.charCodeAt(i + k);
    if (UUID_DASHES.includes(k) ? c !== 45 : !(isDigit(c) || isHexLetter(c))) return false;
  }
  return true;
}

/** Masks the variable runs of a text (linear: one pass, each run looked at once). */
export function maskText(s: string): string {
  let out = '';
  let i = 0;
  while (i < s.length) {
    if (isUuidAt(s, i)) {
      out += '<uuid>';
      i += 36;
      continue;
    }
    const c = s.charCodeAt(i);
    if (!isDigit(c) && !isAlpha(c)) {
      out += s[i];
      i++;
      continue;
    }
    let j = i;
    while (j < s.length && (isDigit(s.charCodeAt(j)) || isAlpha(s.charCodeAt(j)))) j++;
    out += maskRun(s.slice(i, j));
    i = j;
  }
  return out;
}

/** Sorted, masked parameter names of a query string. */
function paramNames(query: string): string[] {
  const names = new Set<string>();
  for (const part of query.split('&')) {
    if (names.size >= MAX_PARAMS) break;
    const name = part.split('=')[0]!;
    if (name) names.add(maskText(name.slice(0, 64)));
  }
  return [...names].sort();
}

const cap = (s: string): string => (s.length > MAX_TEMPLATE ? s.slice(0, MAX_TEMPLATE) : s);

export function httpTemplate(r: HttpRequest): string {
  const q = r.target.indexOf('?');
  const path = q < 0 ? r.target : r.target.slice(0, q);
  const params = q < 0 ? [] : paramNames(r.target.slice(q + 1));
  const masked = maskText(path.slice(0, MAX_TEMPLATE));
  return cap(`http ${r.method.slice(0, 16)} ${masked}${params.length ? ' ?' + params.join('&') : ''}`);
}

/** Printable ASCII kept, other bytes as \xNN, then masked. */
export function bytesTemplate(app: App, first: Buffer): string {
  let s = '';
  for (let i = 0; i < Math.min(first.length, PREFIX_BYTES); i++) {
    const c = first[i]!;
    s +=
      c >= 0x20 && c < 0x7f && c !== 0x5c ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`;
  }
  return cap(`${app} ${maskText(s)}`);
}

export function signatureOf(app: App, payload: Buffer, requests: readonly HttpRequest[]): Signature {
  const first = requests[0];
  return {
    template: first ? httpTemplate(first) : bytesTemplate(app, payload),
    // One-shot: a quarter of createHash's cost on a short payload, and most payloads are short.
    sha256: hash('sha256', payload, 'hex'),
  };
}
