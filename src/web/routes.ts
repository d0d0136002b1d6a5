// The routes behind the server's limits: the token gate (or the Host check on a loopback bind), the login
// form, /metrics, /api/live, /api/* and the dashboard's pages and static files.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EventBus } from '../core/bus.js';
import { RateLimitedLog, type Logger } from '../core/log.js';
import type { Stats } from '../core/stats.js';
import type { QueryStore } from '../store/query.js';
import { handleApi } from './api.js';
import { isAuthorized, isCrossSite, isLocalHostHeader, safeEqual, sessionCookie } from './auth.js';
import { HttpError, readBody, send, setSecurityHeaders } from './http-util.js';
import type { LiveHub } from './live.js';
import { LoginLimiter } from './login-limit.js';
import type { StaticFiles } from './static-files.js';

export interface RouteOptions {
  /** Required token; undefined = no authentication (loopback bind). */
  token?: string;
  store?: QueryStore;
  metrics: { render(): Promise<{ contentType: string; body: string }> };
  bus?: EventBus;
  log: Logger;
  stats: Stats;
  /** Served over HTTPS: the login cookie is then Secure. */
  secure?: boolean;
}

/** Files the login page needs, served without the token (nothing in them comes from the sensor). */
const PUBLIC_FILES = new Set(['/static/login.css', '/static/favicon.svg']);

const isRead = (method: string) => method === 'GET' || method === 'HEAD';

function wantsHtml(req: IncomingMessage): boolean {
  return String(req.headers.accept ?? '').includes('text/html');
}

/** A browser opening a dashboard page from a link elsewhere: the only cross-site request let through. */
function isPageNavigation(req: IncomingMessage, method: string, path: string): boolean {
  return (
    isRead(method) &&
    req.headers['sec-fetch-mode'] === 'navigate' &&
    !path.startsWith('/api/') &&
    path !== '/metrics'
  );
}

/** Whether the request carries credentials at all (a wrong one is a failed login). */
const hasCredentials = (req: IncomingMessage): boolean =>
  req.headers.authorization !== undefined || req.headers.cookie !== undefined;

export class Routes {
  private readonly logins = new LoginLimiter();
  /** Lines network input can cause are rate-limited (the counters say how many happened). */
  private readonly rlog: RateLimitedLog;

  constructor(
    private readonly opts: RouteOptions,
    private readonly files: StaticFiles,
    private readonly live: LiveHub,
    private readonly limits: { maxUrlBytes: number; maxLoginBodyBytes: number },
  ) {
    this.rlog = new RateLimitedLog(opts.log);
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    setSecurityHeaders(res);
    const rawUrl = req.url ?? '/';
    const { maxUrlBytes } = this.limits;
    if (rawUrl.length > maxUrlBytes) throw new HttpError(414, `URL over ${maxUrlBytes} bytes`);
    const method = req.method ?? 'GET';
    let url: URL;
    try {
      url = new URL(rawUrl, 'http://localhost');
    } catch {
      throw new HttpError(400, 'malformed URL');
    }
    const path = url.pathname;
    // Before anything else, on every route and every bind: another site's page may not use this server
    // through the browser (CSRF, reading the API with the login cookie, DNS rebinding from a page).
    if (isCrossSite(req) && !isPageNavigation(req, method, path)) {
      this.opts.stats.inc('web_cross_site_total');
      throw new HttpError(403, 'cross-site request refused (Sec-Fetch-Site / Origin names another site)');
    }
    if (await this.gate(req, res, method, path)) return;

    if (path === '/login') return this.login(req, res, method);
    if (!isRead(method)) {
      res.setHeader('Allow', 'GET, HEAD');
      throw new HttpError(405, `method ${method.slice(0, 16)} not allowed`);
    }
    if (path === '/metrics') {
      const m = await this.opts.metrics.render();
      return send(req, res, 200, m.contentType, m.body, { 'Cache-Control': 'no-store' });
    }
    if (path === '/api/live') {
      if (!this.opts.bus) throw new HttpError(503, 'live updates need the event bus');
      if (method === 'HEAD') return send(req, res, 200, 'text/event-stream; charset=utf-8', '');
      return this.live.subscribe(req, res);
    }
    if (path.startsWith('/api/')) return handleApi(req, res, url, this.opts.store);
    return this.files.serve(req, res, path);
  }

  /** Answers requests that may not pass (and the pages open without the token); true when it answered. */
  private async gate(
    req: IncomingMessage,
    res: ServerResponse,
    method: string,
    path: string,
  ): Promise<boolean> {
    const { token } = this.opts;
    if (token === undefined) {
      // Loopback bind: no token, but only pages that this host addresses by a loopback name (DNS rebinding).
      if (!isLocalHostHeader(req.headers.host))
        throw new HttpError(403, 'Host header must name a loopback address (127.0.0.1, [::1], localhost)');
      return false;
    }
    // The login page (and its stylesheet) are the only routes open without the token.
    if (path === '/login') await this.login(req, res, method);
    else if (PUBLIC_FILES.has(path) && isRead(method)) this.files.serve(req, res, path);
    else if (hasCredentials(req) && !this.logins.allowed(this.remote(req))) this.tooMany();
    else if (isAuthorized(req, token)) return false;
    else {
      if (hasCredentials(req)) this.failed(req);
      res.setHeader('WWW-Authenticate', 'Bearer realm="tidewatch"');
      if (path.startsWith('/api/') || path === '/metrics' || !wantsHtml(req))
        throw new HttpError(401, 'token required: send "Authorization: Bearer <token>" or log in at /login');
      this.files.serve(req, res, '/login', 401);
    }
    return true;
  }

  private async login(req: IncomingMessage, res: ServerResponse, method: string): Promise<void> {
    const { token } = this.opts;
    if (isRead(method)) return this.files.serve(req, res, '/login');
    if (method !== 'POST') throw new HttpError(405, 'use GET or POST on /login');
    if (token === undefined) return send(req, res, 303, 'text/plain', '', { Location: '/' });
    const type = String(req.headers['content-type'] ?? '');
    if (!type.startsWith('application/x-www-form-urlencoded'))
      throw new HttpError(415, 'login expects an HTML form (application/x-www-form-urlencoded)');
    if (!this.logins.allowed(this.remote(req))) this.tooMany();
    const body = await readBody(req, this.limits.maxLoginBodyBytes);
    const given = new URLSearchParams(body).get('token') ?? '';
    if (!safeEqual(given.trim(), token)) {
      this.failed(req);
      return this.files.serve(req, res, '/login', 401);
    }
    send(req, res, 303, 'text/plain; charset=utf-8', 'logged in', {
      Location: '/',
      'Set-Cookie': sessionCookie(token, this.opts.secure),
    });
  }

  private remote(req: IncomingMessage): string {
    return req.socket.remoteAddress ?? '';
  }

  /** A wrong token, by form, Bearer header or cookie: counted against the address, logged rate-limited. */
  private failed(req: IncomingMessage): void {
    this.logins.failed(this.remote(req));
    this.opts.stats.inc('web_login_failed_total');
    if (this.rlog.allow('login'))
      this.opts.log.warn(
        { remote: this.remote(req), failed: this.opts.stats.get('web_login_failed_total') },
        'failed dashboard login (logged at most once a minute; counted in web_login_failed_total)',
      );
  }

  private tooMany(): never {
    this.opts.stats.inc('web_login_limited_total');
    throw new HttpError(429, 'too many failed logins from this address: wait a minute');
  }
}
