// The dashboard's files, served from a fixed allow-list read into memory once: a request path is only ever a
// key into that map, never joined to a directory, so no path can reach another file. uPlot comes from its
// npm package (node_modules/uplot/dist) and is served from this origin: the page works offline.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { TidewatchError } from '../core/errors.js';
import { HttpError, send } from './http-util.js';

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  css: 'text/css; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  svg: 'image/svg+xml',
};

/** URL path → file name in the static dir ("uplot:" = from the uplot package). */
export const ROUTES: Readonly<Record<string, string>> = {
  '/': 'index.html',
  '/port': 'port.html',
  '/source': 'source.html',
  '/sessions': 'sessions.html',
  '/sensors': 'sensors.html',
  '/campaigns': 'campaigns.html',
  '/login': 'login.html',
  '/favicon.ico': 'favicon.svg',
  '/static/favicon.svg': 'favicon.svg',
  '/static/app.css': 'app.css',
  '/static/login.css': 'login.css',
  '/static/common.js': 'common.js',
  '/static/charts.js': 'charts.js',
  '/static/overview.js': 'overview.js',
  '/static/port.js': 'port.js',
  '/static/source.js': 'source.js',
  '/static/sessions.js': 'sessions.js',
  '/static/sensors.js': 'sensors.js',
  '/static/campaigns.js': 'campaigns.js',
  '/static/intel-view.js': 'intel-view.js',
  '/static/uPlot.iife.min.js': 'uplot:uPlot.iife.min.js',
  '/static/uPlot.min.css': 'uplot:uPlot.min.css',
};

interface File {
  body: Buffer;
  type: string;
  etag: string;
}

/** Finds src/web/static beside the compiled code (dist/src/web/static) or in the source tree. */
export function findStaticDir(): string {
  const here = import.meta.dirname;
  const candidates = [join(here, 'static'), resolve(here, '../../../src/web/static')];
  for (const c of candidates) if (existsSync(join(c, 'index.html'))) return c;
  throw new TidewatchError('TW_ERR_HTTP', `dashboard files not found (looked in ${candidates.join(', ')})`);
}

/** A line `<!-- include: _NAME.html -->` in a page: the dashboard pages share one head and one top bar. */
const INCLUDE = /^([ \t]*)<!-- include: (_[a-z-]+\.html) -->$/gm;

/** The page with each include line replaced by that partial (our own files, read once at start), indented
 * like the line. Partials start with "_" and are not in ROUTES, so none is served on its own. */
function withIncludes(dir: string, page: Buffer): Buffer {
  const text = page.toString('utf8');
  if (!text.includes('<!-- include: ')) return page;
  return Buffer.from(
    text.replace(INCLUDE, (_line, indent: string, name: string) =>
      readFileSync(join(dir, name), 'utf8')
        .trimEnd()
        .replace(/^(?=.)/gm, indent),
    ),
  );
}

function uplotDir(): string {
  const req = createRequire(import.meta.url);
  return join(dirname(req.resolve('uplot/package.json')), 'dist');
}

export class StaticFiles {
  private readonly files = new Map<string, File>();

  constructor(dir: string = findStaticDir()) {
    const uplot = uplotDir();
    for (const [route, name] of Object.entries(ROUTES)) {
      const path = name.startsWith('uplot:') ? join(uplot, name.slice(6)) : join(dir, name);
      const ext = name.slice(name.lastIndexOf('.') + 1);
      const body = ext === 'html' ? withIncludes(dir, readFileSync(path)) : readFileSync(path);
      const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
      this.files.set(route, { body, type: TYPES[ext] ?? 'application/octet-stream', etag });
    }
  }

  serve(req: IncomingMessage, res: ServerResponse, path: string, status = 200): void {
    const f = this.files.get(path);
    if (!f) throw new HttpError(404, 'not found');
    if (status === 200 && req.headers['if-none-match'] === f.etag) {
      res.writeHead(304, { ETag: f.etag });
      res.end();
      return;
    }
    send(req, res, status, f.type, f.body, { ETag: f.etag, 'Cache-Control': 'no-cache' });
  }
}
