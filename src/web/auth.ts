// Who may use the HTTP server. Bound to loopback, everyone on the host may (as with any local tool); bound
// anywhere else, every route but the login page needs the token, as a Bearer header or as the cookie the
// login form sets. Comparisons run in constant time over fixed-length digests so timing tells nothing.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

export const COOKIE_NAME = 'tw_session';

/** True for 127.0.0.0/8, ::1 and ::ffff:127.x: addresses only this host can reach. */
export function isLoopbackAddress(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || h === '0:0:0:0:0:0:0:1' || /^::ffff:127\./.test(h);
  return false;
}

/** A random token for operators who set none (printed once at start). */
export function generateToken(): string {
  return randomBytes(24).toString('base64url');
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** Constant-time equality of two strings of any length (compares their SHA-256 digests). */
export function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

/**
 * The cookie holds a value derived from the token, not the token itself, so a leaked cookie jar does not
 * hand out the Bearer token for scripts.
 */
export function cookieValue(token: string): string {
  return createHash('sha256').update(`tidewatch-session:${token}`).digest('base64url');
}

function readCookie(req: IncomingMessage, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header || header.length > 8192) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** True when the request carries the token (Bearer header) or the login cookie. */
export function isAuthorized(req: IncomingMessage, token: string): boolean {
  const auth = req.headers.authorization;
  if (typeof auth === 'string' && /^Bearer /i.test(auth) && safeEqual(auth.slice(7).trim(), token))
    return true;
  const cookie = readCookie(req, COOKIE_NAME);
  return cookie !== undefined && safeEqual(cookie, cookieValue(token));
}

/** The login cookie; `secure` (served over HTTPS) adds Secure so a browser never sends it in clear. */
export function sessionCookie(token: string, secure = false): string {
  const flags = `HttpOnly; SameSite=Strict; Path=/; Max-Age=2592000${secure ? '; Secure' : ''}`;
  return `${COOKIE_NAME}=${cookieValue(token)}; ${flags}`;
}

/**
 * A request another site made a browser send (CSRF, or a page reading the API through a logged-in cookie):
 * Sec-Fetch-Site other than same-origin/none, or an Origin that is not this server's Host. Clients that send
 * neither header (curl, scripts) are not browsers acting for another site.
 */
export function isCrossSite(req: IncomingMessage): boolean {
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return true;
  const origin = req.headers.origin;
  if (origin === undefined) return false;
  const host = req.headers.host;
  if (!host) return true;
  try {
    return new URL(origin).host !== new URL(`http://${host}`).host;
  } catch {
    return true; // "null" (sandboxed frames, file:) or garbage
  }
}

/**
 * On a loopback bind the Host header must name this host too: a page from elsewhere that rebinds its DNS
 * name to 127.0.0.1 (DNS rebinding) then gets 403 instead of the API.
 */
export function isLocalHostHeader(host: string | undefined): boolean {
  if (!host) return false;
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:]+)(?::\d{1,5})?$/.exec(host);
  return m !== null && isLoopbackAddress(m[1]!);
}
