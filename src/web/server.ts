// The HTTP server: security headers and limits on every request, then the routes (routes.ts: authentication,
// /metrics, /api/*, the dashboard pages and their static files). node:http on purpose: a dozen GET routes
// need no framework, and every limit (header size, timeouts, connections, body size) is set in one place.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { SecureContextOptions } from 'node:tls';
import type { AddressInfo, Socket } from 'node:net';
import { RateLimitedLog } from '../core/log.js';
import type { Stats } from '../core/stats.js';
import { HttpError, sendError } from './http-util.js';
import { LiveHub } from './live.js';
import { type RouteOptions, Routes } from './routes.js';
import { StaticFiles } from './static-files.js';

export interface WebServerOptions extends RouteOptions {
  host: string;
  port: number;
  /** Certificate and key: served over HTTPS (TLS 1.2 and later, Node's default ciphers). */
  tls?: SecureContextOptions;
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

export interface WebServer {
  readonly server: Server;
  readonly live: LiveHub;
  /** Resolves with the bound address once listening. */
  listen(): Promise<AddressInfo>;
  close(): Promise<void>;
  destroy(): void;
}

export function createWebServer(opts: WebServerOptions): WebServer {
  const live = new LiveHub(opts.bus, opts.stats);
  const routes = new Routes({ ...opts, secure: opts.tls !== undefined }, new StaticFiles(), live, LIMITS);
  const limits = { maxHeaderSize: LIMITS.maxHeaderBytes, requestTimeout: LIMITS.requestTimeoutMs };
  const errors = new RateLimitedLog(opts.log);
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    opts.stats.inc('web_requests_total');
    routes.handle(req, res).catch((err: unknown) => answerError(req, res, err, { ...opts, errors }));
  };
  const server: Server = opts.tls
    ? createHttpsServer({ ...limits, ...opts.tls, minVersion: 'TLSv1.2' }, onRequest)
    : createServer(limits, onRequest);
  server.headersTimeout = LIMITS.headersTimeoutMs;
  server.keepAliveTimeout = LIMITS.keepAliveTimeoutMs;
  server.maxConnections = LIMITS.maxConnections;
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    opts.stats.inc('web_rejected_total');
    rejectClient(err, socket);
  });
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

/** A request that failed: its HTTP error, or 500 for a bug (logged); counted either way. */
function answerError(
  req: IncomingMessage,
  res: ServerResponse,
  err: unknown,
  opts: { stats: Stats; errors: RateLimitedLog },
): void {
  if (err instanceof HttpError) {
    if (err.status >= 500) opts.stats.inc('web_errors_total');
    else opts.stats.inc('web_rejected_total');
    if (!res.headersSent) sendError(req, res, err.status, err.message);
    else res.destroy();
    return;
  }
  opts.stats.inc('web_errors_total');
  opts.errors.error('request', { err, url: req.url?.slice(0, 200) }, 'http request failed');
  if (!res.headersSent) sendError(req, res, 500, 'internal error (see the sensor log)');
  else res.destroy();
}

/** A request node:http could not parse (oversized headers, timeout, garbage): a bare status, then close. */
function rejectClient(err: NodeJS.ErrnoException, socket: Socket): void {
  const status =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? '431 Request Header Fields Too Large'
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? '408 Request Timeout'
        : '400 Bad Request';
  if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  else socket.destroy();
}
