// The JSON API under /api/ (docs/web.md lists every route, parameter and error). Each route validates its
// parameters (params.ts) before the store is asked anything; without a store every route answers 503.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isTidewatchError } from '../core/errors.js';
import type { DailyRow, QueryStore, SeriesPoint } from '../store/query.js';
import { HttpError, send, sendJson } from './http-util.js';
import { checkDay, checkIp, Params } from './params.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const RANGE = ['from', 'to', 'sensor'] as const;
const PAGE = ['limit', 'offset'] as const;
/** Every route takes ?sensor= (a fleet store filters on it; a single sensor's store knows only its own). */
const SENSOR = ['sensor'] as const;

/** Per step: default span, longest span (bounds the number of points) and the baseline window in points. */
export const SERIES_STEPS = {
  minute: { span: 6 * HOUR, max: 7 * DAY, window: 60 },
  hour: { span: 7 * DAY, max: 90 * DAY, window: 24 },
  day: { span: 30 * DAY, max: 400 * DAY, window: 7 },
} as const;

export const TSUSEN_HEADER = 'proto dst_port dst_ip src_ip first_seen last_seen count';

type Route = (p: URLSearchParams, store: QueryStore, rest: string) => Promise<unknown>;

/**
 * Trailing mean of the previous `window` points (the point itself excluded): what the port usually sees, so
 * a spike stands out above the line.
 */
export function withBaseline(points: SeriesPoint[], window: number): (SeriesPoint & { baseline: number })[] {
  let sum = 0;
  return points.map((pt, i) => {
    const n = Math.min(i, window);
    const baseline = n === 0 ? pt.new : sum / n;
    sum += pt.new;
    if (i >= window) sum -= points[i - window]!.new;
    return { ...pt, baseline: Math.round(baseline * 100) / 100 };
  });
}

/** Tsusen's space-separated daily CSV; a missing port (non-TCP/UDP protocols) is written as "-". */
export function toTsusenCsv(rows: DailyRow[]): string {
  // Whitespace would break the columns and a leading = + - @ would make a spreadsheet formula; the values
  // are addresses and protocol names the sensor wrote, so neither happens unless something is badly wrong.
  const clean = (s: string): string => s.replace(/\s+/g, '_').replace(/^[=+\-@]/, '_') || '_';
  const lines = [TSUSEN_HEADER];
  for (const r of rows)
    lines.push(
      [
        clean(r.proto),
        r.dst_port ?? '-',
        clean(r.dst_ip),
        clean(r.src_ip),
        Math.trunc(r.first_seen),
        Math.trunc(r.last_seen),
        Math.trunc(r.count),
      ].join(' '),
    );
  return lines.join('\n') + '\n';
}

const ROUTES: Record<string, Route> = {
  summary: (q, s) => {
    const p = new Params(q, RANGE);
    return s.summary({ ...p.range(DAY), ...sensorOf(p, s) });
  },

  sensors: (q, s) => {
    new Params(q, []);
    return s.sensors();
  },

  'fleet-spikes': (q, s) => {
    const p = new Params(q, [...RANGE, 'limit']);
    return s.fleetSpikes({
      ...p.range(7 * DAY),
      ...sensorOf(p, s),
      limit: p.int('limit', { min: 1, max: 1000, def: 50 })!,
    });
  },

  ports: (q, s) => {
    const p = new Params(q, [...RANGE, 'proto', 'limit']);
    return s.topPorts({
      ...p.range(DAY),
      ...sensorOf(p, s),
      ...withOpt('proto', p.choice('proto', ['tcp', 'udp'] as const)),
      limit: p.int('limit', { min: 1, max: 1000, def: 20 })!,
    });
  },

  series: async (q, s) => {
    const p = new Params(q, [...RANGE, 'proto', 'port', 'step']);
    const proto = p.choice('proto', ['tcp', 'udp', 'all'] as const, 'tcp')!;
    // proto=all: attempts on every port (no port asked for); the fleet overview draws one line per sensor.
    const port = proto === 'all' ? 0 : p.requiredPort();
    const step = p.choice('step', ['minute', 'hour', 'day'] as const, 'hour')!;
    const cfg = SERIES_STEPS[step];
    const range = p.range(cfg.span, cfg.max);
    const points = await s.portSeries({ ...range, ...sensorOf(p, s), proto, port, step });
    return { proto, port, step, ...range, points: withBaseline(points, cfg.window) };
  },

  sources: async (q, s, rest) => {
    if (rest) {
      const p = new Params(q, SENSOR);
      const ip = checkIp(rest, 'address in /api/sources/ADDRESS');
      const row = await s.source(ip, sensorOf(p, s));
      if (!row) throw new HttpError(404, `no source ${ip} in the store`);
      return row;
    }
    const p = new Params(q, [...RANGE, ...PAGE, 'port']);
    return s.sources({
      ...p.range(DAY),
      ...sensorOf(p, s),
      ...withOpt('port', p.port()),
      ...p.page(50, 1000),
    });
  },

  sessions: async (q, s, rest) => {
    if (rest) {
      const p = new Params(q, SENSOR);
      // Fleet session ids use up to 53 bits (the JSON-safe range).
      if (!/^\d{1,16}$/.test(rest) || Number(rest) < 1 || !Number.isSafeInteger(Number(rest)))
        throw new HttpError(400, 'session id must be a positive whole number');
      const row = await s.session(Number(rest), sensorOf(p, s));
      if (!row) throw new HttpError(404, `no session ${rest} in the store`);
      return row;
    }
    const p = new Params(q, [
      ...RANGE,
      ...PAGE,
      'cursor',
      'port',
      'src',
      'proto',
      'text',
      'tag',
      'signature',
    ]);
    return s.sessions({
      ...p.optionalRange(),
      ...sensorOf(p, s),
      ...withOpt('port', p.port()),
      ...withOpt('src', p.ip('src')),
      ...withOpt('proto', p.choice('proto', ['tcp', 'tls', 'udp'] as const)),
      ...withOpt('text', p.text('text')),
      ...withOpt('tag', p.text('tag', 80)),
      ...withOpt('signature', p.text('signature', 256)),
      ...withOpt('cursor', p.cursor()),
      ...p.page(50, 500),
    });
  },

  scans: (q, s) => {
    const p = new Params(q, [...RANGE, ...PAGE, 'src']);
    return s.scans({
      ...p.range(7 * DAY),
      ...sensorOf(p, s),
      ...withOpt('src', p.ip('src')),
      ...p.page(50, 1000),
    });
  },

  spikes: (q, s) => {
    const p = new Params(q, [...RANGE, ...PAGE, 'port']);
    return s.spikes({
      ...p.range(7 * DAY),
      ...sensorOf(p, s),
      ...withOpt('port', p.port()),
      ...p.page(50, 1000),
    });
  },

  campaigns: (q, s) => {
    const p = new Params(q, [...RANGE, ...PAGE]);
    if (!s.campaigns) throw new HttpError(404, 'this store keeps no campaigns');
    return s.campaigns({ ...p.range(7 * DAY), ...sensorOf(p, s), ...p.page(50, 1000) });
  },

  iocs: (q, s) => {
    const p = new Params(q, [...RANGE, ...PAGE, 'src']);
    if (!s.iocs) throw new HttpError(404, 'this store keeps no IOCs');
    return s.iocs({
      ...p.range(7 * DAY),
      ...sensorOf(p, s),
      ...withOpt('src', p.ip('src')),
      ...p.page(50, 1000),
    });
  },

  blocks: (q, s) => {
    const p = new Params(q, [...PAGE, ...SENSOR, 'active']);
    return s.blocks({ ...sensorOf(p, s), ...withOpt('active', p.bool('active')), ...p.page(50, 1000) });
  },
};

/** The ?sensor= filter; a single sensor's store answers 404 for another sensor's id. */
function sensorOf(p: Params, s: QueryStore): { sensor?: string } {
  const sensor = p.sensor();
  if (sensor === undefined) return {};
  if (s.single !== undefined) {
    if (sensor !== s.single)
      throw new HttpError(404, `no sensor ${sensor} in this store (it holds ${s.single})`);
    return {};
  }
  return { sensor };
}

function withOpt<K extends string, V>(key: K, v: V | undefined): { [P in K]?: V } {
  return (v === undefined ? {} : { [key]: v }) as { [P in K]?: V };
}

export async function handleApi(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  store: QueryStore | undefined,
): Promise<void> {
  const path = url.pathname.slice('/api/'.length);
  const slash = path.indexOf('/');
  const name = slash < 0 ? path : path.slice(0, slash);
  let rest = '';
  try {
    rest = slash < 0 ? '' : decodeURIComponent(path.slice(slash + 1));
  } catch {
    throw new HttpError(400, 'malformed percent-encoding in the path');
  }
  const isCsv = name === 'daily.csv';
  if (!isCsv && (!Object.hasOwn(ROUTES, name) || rest.includes('/')))
    throw new HttpError(404, `no API route /api/${name.slice(0, 40)} (see docs/web.md)`);
  if (!store)
    throw new HttpError(503, 'no store: the sensor runs with --store off; the API needs --store sqlite');

  if (isCsv) {
    const p = new Params(url.searchParams, ['day', ...SENSOR]);
    const day = checkDay(p.day('day', new Date().toISOString().slice(0, 10)), 'day');
    const csv = toTsusenCsv(await fromStore(store.dailyRows(day, sensorOf(p, store))));
    return send(req, res, 200, 'text/csv; charset=utf-8', csv, {
      'Content-Disposition': `attachment; filename="${day}.csv"`,
      'Cache-Control': 'no-store',
    });
  }
  sendJson(req, res, 200, await fromStore(ROUTES[name]!(url.searchParams, store, rest)));
}

/** A query past its time budget, or refused while the store is busy with slow ones: 503, try later. */
async function fromStore<T>(answer: Promise<T>): Promise<T> {
  try {
    return await answer;
  } catch (err) {
    if (isTidewatchError(err) && err.code === 'TW_ERR_STORE_TIMEOUT') throw new HttpError(503, err.message);
    throw err;
  }
}
