// The routes behind the server's limits: the token gate (or the Host check on a loopback bind), the login
// form, /metrics, /api/live, /api/* and the dashboard's pages and static files.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EventBus } from '../core/bus.js';
import type { Logger } from '../core/log.js';
import type { Stats } from '../core/stats.js';
import type { QueryStore } from '../store/query.js';
import { handleApi } from './api.js';
import { isAuthorized, isLocalHostHeader, safeEqual, sessionCookie } from './auth.js';
import { HttpError, readBody, send, setSecurityHeaders } from './http-util.js';
import type { LiveHub } from './live.js';
import type { StaticFiles } from './static-files.js';

export interface RouteOptions {
  /** Required token; undefined = no authentication (loopback bind). */
  token?: string;
  store?: QueryStore;
  metrics: { render(): Promise<{ contentType: string; body: string }> };
  bus?: EventBus;
  log: Logger;
  stats: Stats;
}

/** Files the login page needs, served without the token (nothing in them comes from the sensor). */
const PUBLIC_FILES = new Set(['/static/login.css', '/static/favicon.svg']);

const isRead = (method: string) => method === 'GET' || method === 'HEAD';

function wantsHtml(req: IncomingMessage): boolean {
  return String(req.headers.accept ?? '').includes('text/html');
}

export class Routes {
  constructor(
    private readonly opts: RouteOptions,
    private readonly files: StaticFiles,
    private readonly live: LiveHub,
    private readonly limits: { maxUrlBytes: number; maxLoginBodyBytes: number },
  ) {}

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
    else if (isAuthorized(req, token)) return false;
    else {
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
    const body = await readBody(req, this.limits.maxLoginBodyBytes);
    const given = new URLSearchParams(body).get('token') ?? '';
    if (!safeEqual(given.trim(), token)) {
      this.opts.stats.inc('web_login_failed_total');
      this.opts.log.warn({ remote: req.socket.remoteAddress }, 'failed dashboard login');
      return this.files.serve(req, res, '/login', 401);
    }
    send(req, res, 303, 'text/plain; charset=utf-8', 'logged in', {
      Location: '/',
      'Set-Cookie': sessionCookie(token),
    });
  }
}
