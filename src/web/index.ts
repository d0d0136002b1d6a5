// HTTP server on --http: dashboard, JSON API under /api/, /metrics (docs/web.md).
// Bound to loopback, no token is asked; bound anywhere else, every route but the login page needs
// --http-token, or a token generated here and logged once at start.
import { parseHostPort } from '../config/units.js';
import type { SensorContext } from '../core/context.js';
import { ConfigError, TidewatchError } from '../core/errors.js';
import { component, type Component } from '../core/lifecycle.js';
import type { MetricsComponent } from '../export/prometheus.js';
import { loadOrCreateCertificate, readGiven } from '../listen/tls/certificate.js';
import type { QueryStore } from '../store/query.js';
import { generateToken, isLoopbackAddress } from './auth.js';
import { createWebServer } from './server.js';

/** Off loopback, a shorter --http-token is refused at start; on loopback it is accepted with a warning. */
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
  if (cfg.httpToken && cfg.httpToken.length < MIN_TOKEN_CHARS) {
    if (!loopback)
      throw new ConfigError(
        `--http-token is shorter than ${MIN_TOKEN_CHARS} characters, too easy to guess off loopback; choose a longer one or leave it unset to have one generated`,
      );
    log.warn(`--http-token is shorter than ${MIN_TOKEN_CHARS} characters: easy to guess`);
  }
  const tls = await dashboardTls(ctx, loopback);
  const web = createWebServer({
    ...(tls && { tls }),
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
    {
      http: `${host}:${bound.port}`,
      auth: token ? 'token' : 'loopback',
      tls: Boolean(tls),
      store: Boolean(deps.store),
    },
    `dashboard on ${tls ? 'https' : 'http'}://${host}:${bound.port}/`,
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

/**
 * The dashboard's certificate when it is served over HTTPS (--http-tls on, or auto off loopback, so the
 * token never crosses the network in clear): --http-tls-cert/--http-tls-key, else the listener's.
 */
async function dashboardTls(ctx: SensorContext, loopback: boolean) {
  const { cfg } = ctx;
  if (Boolean(cfg.httpTlsCert) !== Boolean(cfg.httpTlsKey))
    throw new ConfigError('--http-tls-cert and --http-tls-key go together: give both or neither');
  if (cfg.httpTls === 'off' || (cfg.httpTls === 'auto' && loopback)) {
    if (!loopback)
      ctx.log.warn('--http-tls off on a non-loopback address: the token crosses the network in clear');
    return undefined;
  }
  const id = cfg.httpTlsCert
    ? await readGiven(cfg.httpTlsCert, cfg.httpTlsKey, '--http-tls-cert/--http-tls-key')
    : await loadOrCreateCertificate(cfg, ctx.log);
  return { cert: id.cert, key: id.key };
}
