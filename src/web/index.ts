// HTTP server on --http: dashboard, JSON API under /api/, /metrics (docs/web.md).
// Bound to loopback, no token is asked; bound anywhere else, every route but the login page needs
// --http-token, or a token generated here and logged once at start.
import { parseHostPort } from '../config/units.js';
import type { SensorContext } from '../core/context.js';
import { TidewatchError } from '../core/errors.js';
import { component, type Component } from '../core/lifecycle.js';
import type { MetricsComponent } from '../export/prometheus.js';
import type { QueryStore } from '../store/query.js';
import { generateToken, isLoopbackAddress } from './auth.js';
import { createWebServer } from './server.js';

/** Shorter --http-token values are accepted with a warning. */
export const MIN_TOKEN_CHARS = 16;

export interface WebDeps {
  store?: { readonly query: QueryStore };
  metrics: MetricsComponent;
}

export interface WebComponent extends Component {
  /** The bound address (port 0 in the config picks a free port). */
  readonly address: { host: string; port: number };
}

export async function startWeb(ctx: SensorContext, deps: WebDeps): Promise<WebComponent> {
  const { cfg, stats } = ctx;
  const log = ctx.log.child({ component: 'web' });
  const addr = parseHostPort(cfg.http);
  if (!addr) throw new TidewatchError('TW_ERR_HTTP', `bad --http address "${cfg.http}"`);
  const loopback = isLoopbackAddress(addr.host);
  // A token set by the operator is required everywhere (on a shared host, other local users are kept out
  // too); without one, loopback needs none and any other address gets a generated one.
  let token: string | undefined = cfg.httpToken || undefined;
  if (token === undefined && !loopback) {
    token = generateToken();
    // Printed once so the operator can log in; set --http-token to keep one across restarts.
    log.warn({ token }, `dashboard token (generated; set --http-token to choose one): ${token}`);
  }
  if (cfg.httpToken && cfg.httpToken.length < MIN_TOKEN_CHARS)
    log.warn(`--http-token is shorter than ${MIN_TOKEN_CHARS} characters: easy to guess`);
  const web = createWebServer({
    host: addr.host,
    port: addr.port,
    ...(token !== undefined && { token }),
    ...(deps.store && { store: deps.store.query }),
    metrics: deps.metrics,
    bus: ctx.bus,
    log,
    stats,
  });
  let bound;
  try {
    bound = await web.listen();
  } catch (err) {
    throw new TidewatchError(
      'TW_ERR_HTTP',
      `cannot serve the dashboard on ${cfg.http}: ${(err as Error).message} (choose another --http or --http off)`,
      { cause: err },
    );
  }
  const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  log.info(
    { http: `${host}:${bound.port}`, auth: token ? 'token' : 'loopback', store: Boolean(deps.store) },
    `dashboard on http://${host}:${bound.port}/`,
  );
  return {
    ...component(
      'web',
      () => web.close(),
      () => web.destroy(),
    ),
    address: { host: bound.address, port: bound.port },
  };
}
