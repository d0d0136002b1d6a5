// The HTTP server: security headers and limits on every request, authentication, then the routes
// (/metrics, /api/*, the dashboard pages and their static files). node:http on purpose: a dozen GET routes
// need no framework, and every limit (header size, timeouts, connections, body size) is set in one place.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EventBus } from '../core/bus.js';
import type { Logger } from '../core/log.js';
import type { Stats } from '../core/stats.js';
import type { QueryStore } from '../store/query.js';
import { handleApi } from './api.js';
import { isAuthorized, isLocalHostHeader, safeEqual, sessionCookie } from './auth.js';
import { HttpError, readBody, send, sendError, setSecurityHeaders } from './http-util.js';
import { LiveHub } from './live.js';
import { StaticFiles } from './static-files.js';

export interface WebServerOptions {
  host: string;
  port: number;
  /** Required token; undefined = no authentication (loopback bind). */
  token?: string;
  store?: QueryStore;
  metrics: { render(): Promise<{ contentType: string; body: string }> };
  bus?: EventBus;
  log: Logger;
  stats: Stats;
}

/** Limits of the server, named with units. */
export const LIMITS = {
  maxHeaderBytes: 16 * 1024,
  maxUrlBytes: 4096,
  maxLoginBodyBytes: 4096,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 512,
} as const;

/** Files the login page needs, served without the token (nothing in them comes from the sensor). */
const PUBLIC_FILES = new Set(['/static/login.css', '/static/favicon.svg']);

export interface WebServer {
  readonly server: Server;
  readonly live: LiveHub;
  /** Resolves with the bound address once listening. */
  listen(): Promise<AddressInfo>;
  close(): Promise<void>;
  destroy(): void;
}

export function createWebServer(opts: WebServerOptions): WebServer {
  const files = new StaticFiles();
  const live = new LiveHub(opts.bus, opts.stats);
  const server = createServer(
    { maxHeaderSize: LIMITS.maxHeaderBytes, requestTimeout: LIMITS.requestTimeoutMs },
    (req, res) => {
      opts.stats.inc('web_requests_total');
      handle(req, res).catch((err: unknown) => {
        if (err instanceof HttpError) {
          if (err.status >= 500) opts.stats.inc('web_errors_total');
          else opts.stats.inc('web_rejected_total');
          if (!res.headersSent) sendError(req, res, err.status, err.message);
          else res.destroy();
          return;
        }
        opts.stats.inc('web_errors_total');
        opts.log.error({ err, url: req.url?.slice(0, 200) }, 'http request failed');
        if (!res.headersSent) sendError(req, res, 500, 'internal error (see the sensor log)');
        else res.destroy();
      });
    },
  );
  server.headersTimeout = LIMITS.headersTimeoutMs;
  server.keepAliveTimeout = LIMITS.keepAliveTimeoutMs;
  server.maxConnections = LIMITS.maxConnections;
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    opts.stats.inc('web_rejected_total');
    const status =
      err.code === 'HPE_HEADER_OVERFLOW'
        ? '431 Request Header Fields Too Large'
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? '408 Request Timeout'
          : '400 Bad Request';
    if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    else socket.destroy();
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    setSecurityHeaders(res);
    const rawUrl = req.url ?? '/';
    if (rawUrl.length > LIMITS.maxUrlBytes) throw new HttpError(414, `URL over ${LIMITS.maxUrlBytes} bytes`);
    const method = req.method ?? 'GET';
    let url: URL;
    try {
      url = new URL(rawUrl, 'http://localhost');
    } catch {
      throw new HttpError(400, 'malformed URL');
    }
    const path = url.pathname;

    if (opts.token === undefined) {
      // Loopback bind: no token, but only pages that this host addresses by a loopback name (DNS rebinding).
      if (!isLocalHostHeader(req.headers.host))
        throw new HttpError(403, 'Host header must name a loopback address (127.0.0.1, [::1], localhost)');
    } else {
      // The login page (and its stylesheet) are the only routes open without the token.
      if (path === '/login') return login(req, res, method, opts.token);
      if (PUBLIC_FILES.has(path) && (method === 'GET' || method === 'HEAD'))
        return files.serve(req, res, path);
      if (!isAuthorized(req, opts.token)) {
        res.setHeader('WWW-Authenticate', 'Bearer realm="tidewatch"');
        if (!path.startsWith('/api/') && path !== '/metrics' && wantsHtml(req))
          return files.serve(req, res, '/login', 401);
        throw new HttpError(401, 'token required: send "Authorization: Bearer <token>" or log in at /login');
      }
    }

    if (path === '/login') return login(req, res, method, opts.token);
    if (method !== 'GET' && method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      throw new HttpError(405, `method ${method.slice(0, 16)} not allowed`);
    }
    if (path === '/metrics') {
      const m = await opts.metrics.render();
      return send(req, res, 200, m.contentType, m.body, { 'Cache-Control': 'no-store' });
    }
    if (path === '/api/live') {
      if (!opts.bus) throw new HttpError(503, 'live updates need the event bus');
      if (method === 'HEAD') return send(req, res, 200, 'text/event-stream; charset=utf-8', '');
      return live.subscribe(req, res);
    }
    if (path.startsWith('/api/')) return handleApi(req, res, url, opts.store);
    return files.serve(req, res, path);
  }

  async function login(
    req: IncomingMessage,
    res: ServerResponse,
    method: string,
    token: string | undefined,
  ): Promise<void> {
    if (method === 'GET' || method === 'HEAD') return files.serve(req, res, '/login');
    if (method !== 'POST') throw new HttpError(405, 'use GET or POST on /login');
    if (token === undefined) return send(req, res, 303, 'text/plain', '', { Location: '/' });
    const type = String(req.headers['content-type'] ?? '');
    if (!type.startsWith('application/x-www-form-urlencoded'))
      throw new HttpError(415, 'login expects an HTML form (application/x-www-form-urlencoded)');
    const body = await readBody(req, LIMITS.maxLoginBodyBytes);
    const given = new URLSearchParams(body).get('token') ?? '';
    if (!safeEqual(given.trim(), token)) {
      opts.stats.inc('web_login_failed_total');
      opts.log.warn({ remote: req.socket.remoteAddress }, 'failed dashboard login');
      return files.serve(req, res, '/login', 401);
    }
    send(req, res, 303, 'text/plain; charset=utf-8', 'logged in', {
      Location: '/',
      'Set-Cookie': sessionCookie(token),
    });
  }

  return {
    server,
    live,
    listen: () =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(opts.port, opts.host, () => {
          server.off('error', reject);
          resolve(server.address() as AddressInfo);
        });
      }),
    close: () =>
      new Promise<void>((resolve) => {
        live.close();
        server.close(() => resolve());
        server.closeIdleConnections();
        // Connections still busy after a grace period are cut, so shutdown is bounded.
        setTimeout(() => server.closeAllConnections(), 2000).unref();
      }),
    destroy: () => {
      live.close();
      server.closeAllConnections();
      server.close();
    },
  };
}

function wantsHtml(req: IncomingMessage): boolean {
  return String(req.headers.accept ?? '').includes('text/html');
}
