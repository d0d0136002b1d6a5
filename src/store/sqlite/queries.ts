// The QueryStore over SQLite. better-sqlite3 is synchronous; the methods are async because the interface is
// shared with a networked backend. Counter sums read the hourly table for whole hours and the minute table
// only for the ragged edges of a range (counter-queries.ts).
import type { Database, Statement } from 'better-sqlite3';

import type { CampaignEvent, Geo, ScanEvent, SpikeEvent, Tag, TlsInfo } from '../../core/events.js';
import { TidewatchError } from '../../core/errors.js';
import { CounterQueries } from './counter-queries.js';
import { PROTO_TOTAL } from './schema.js';
import { SessionSearch } from './session-search.js';
import type {
  DailyRow,
  FleetSpike,
  IocRow,
  Page,
  PortCount,
  QueryStore,
  SensorRow,
  SeriesPoint,
  SeriesProto,
  SessionPage,
  SessionQuery,
  SessionRow,
  SourceRow,
  Summary,
  TimeRange,
} from '../query.js';

const MIN = 60_000;
const DAY = 86_400_000;
/** A scan still open whose last probe is younger than this is "active" in the summary. */
const ACTIVE_SCAN_MS = 15 * MIN;

interface SourceDbRow {
  ip: string;
  first_seen: number;
  last_seen: number;
  sessions: number;
  attempts: number;
  cc: string | null;
  asn: number | null;
  org: string | null;
  tags: string | null;
}

interface SessionDbRow {
  id: number;
  ts: number;
  ended: number;
  proto: SessionRow['proto'];
  src: string;
  sport: number;
  dst: string;
  dport: number;
  bytes: number;
  truncated: number;
  close: string;
  data: Buffer | null;
  tls: string | null;
  tags: string | null;
  geo: string | null;
  persona: string | null;
  respond: string | null;
  app: string | null;
  signature: string | null;
  intel: string | null;
}

interface IocDbRow {
  kind: 'url' | 'host';
  value: string;
  first_seen: number;
  last_seen: number;
  sessions: number;
  sources: string;
}

/** Adds the intel columns (app, signature template, the intel JSON) to a session row (ClickHouse's too). */
export function withIntel(
  row: SessionRow,
  r: { app: string | null; signature: string | null; intel: string | null },
): SessionRow {
  if (r.app) row.app = r.app;
  const intel = parse<Partial<SessionRow> & { sha256?: string }>(r.intel);
  if (intel) {
    const { sha256, ...rest } = intel;
    Object.assign(row, rest);
    if (r.signature && sha256) row.signature = { template: r.signature, sha256 };
  }
  return row;
}

const geoOf = (cc: string | null, asn: number | null, org: string | null): Geo | undefined => {
  if (cc === null && asn === null) return undefined;
  const g: Geo = {};
  if (cc !== null) g.cc = cc;
  if (asn !== null) g.asn = asn;
  if (org !== null) g.org = org;
  return g;
};

const parse = <T>(s: string | null): T | undefined => (s === null ? undefined : (JSON.parse(s) as T));

export class SqliteQueryStore implements QueryStore {
  private readonly cache = new Map<string, Statement>();
  private readonly counters = new CounterQueries((sql) => this.st(sql));
  private readonly search = new SessionSearch<SessionDbRow>(
    (sql) => this.st(sql),
    (r) => this.toSession(r),
  );

  /** The one sensor whose data this store holds. */
  readonly single: string;

  constructor(
    private readonly db: Database,
    sensor = '',
  ) {
    this.single = sensor;
  }

  /** Statements are prepared once per distinct SQL text (a bounded set: filters only toggle clauses). */
  private st(sql: string): Statement {
    let s = this.cache.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.cache.set(sql, s);
    }
    return s;
  }

  private toSource(r: SourceDbRow, attempts?: number): SourceRow {
    const ports = this.st('SELECT count(DISTINCT dst_port) n FROM daily WHERE src_ip = ?').get(r.ip) as {
      n: number;
    };
    const row: SourceRow = {
      ip: r.ip,
      first_seen: r.first_seen,
      last_seen: r.last_seen,
      sessions: r.sessions,
      attempts: attempts ?? r.attempts,
      ports: ports.n,
      tags: parse<Tag[]>(r.tags) ?? [],
      sensors: 1,
    };
    const geo = geoOf(r.cc, r.asn, r.org);
    if (geo) row.geo = geo;
    return row;
  }

  private sourceSync(ip: string): SourceRow | undefined {
    const r = this.st('SELECT * FROM sources WHERE ip = ?').get(ip) as SourceDbRow | undefined;
    return r && this.toSource(r);
  }

  /**
   * The heaviest sources (all-time attempts) among those seen in the range: read down the attempts index and
   * stop at `limit`, instead of summing a day of daily rows per request.
   */
  private topSourcesSync(r: TimeRange, limit: number): SourceRow[] {
    const rows = this.st(
      `SELECT * FROM sources INDEXED BY sources_attempts WHERE last_seen >= ? AND first_seen < ?
       ORDER BY attempts DESC LIMIT ?`,
    ).all(r.from, r.to, limit) as SourceDbRow[];
    return rows.map((s) => this.toSource(s));
  }

  private summarySync(r: TimeRange): Summary {
    const t = this.counters.totals(r);
    const count = (sql: string, ...args: unknown[]): number => (this.st(sql).get(...args) as { n: number }).n;
    const nowMin = Math.floor(r.to / MIN);
    const dA = Math.floor(r.from / DAY);
    const dB = Math.floor((r.to - 1) / DAY);
    const recent = this.counters.totals({ from: (nowMin - 5) * MIN, to: nowMin * MIN });
    const active = this.st(
      `SELECT ev FROM scans WHERE state != 'closed' AND last_seen >= ? AND first_seen < ?
       ORDER BY last_seen DESC LIMIT 20`,
    ).all(Math.max(r.from, r.to - ACTIVE_SCAN_MS), r.to) as { ev: string }[];
    const spikes = this.st('SELECT ev FROM spikes WHERE ts >= ? AND ts < ? ORDER BY ts DESC LIMIT 20').all(
      r.from,
      r.to,
    ) as { ev: string }[];
    const topSources = this.topSourcesSync(r, 10);
    return {
      totals: {
        sessions: t.s,
        attempts: t.n,
        sources: count(
          'SELECT count(*) n FROM sources WHERE last_seen >= ? AND first_seen < ?',
          r.from,
          r.to,
        ),
        scans: count('SELECT count(*) n FROM scans WHERE last_seen >= ? AND first_seen < ?', r.from, r.to),
        spikes: count('SELECT count(*) n FROM spikes WHERE ts >= ? AND ts < ?', r.from, r.to),
        blocks: count(
          `SELECT count(*) n FROM blocks WHERE ts >= ? AND ts < ? AND action = 'added'`,
          r.from,
          r.to,
        ),
      },
      rates: { sessions_per_min: recent.s / 5, attempts_per_min: recent.n / 5 },
      top_ports: this.counters.topPorts({ ...r, limit: 10 }),
      top_sources: topSources,
      // One sensor: every source was seen by it, so this is the top sources list.
      top_sources_by_sensors: topSources,
      // Attempts plus sessions per country and ASN, over the UTC days the range touches.
      top_countries: this.st(
        `SELECT cc, sum(attempts + sessions) count FROM cc_day WHERE day >= ? AND day <= ?
         GROUP BY cc ORDER BY count DESC, cc LIMIT 10`,
      ).all(dA, dB) as { cc: string; count: number }[],
      top_asns: (
        this.st(
          `SELECT asn, max(org) org, sum(attempts + sessions) count FROM asn_day
           WHERE day >= ? AND day <= ? GROUP BY asn ORDER BY count DESC, asn LIMIT 10`,
        ).all(dA, dB) as { asn: number; org: string | null; count: number }[]
      ).map((a) => (a.org === null ? { asn: a.asn, count: a.count } : a) as Summary['top_asns'][number]),
      active_scans: active.map((x) => JSON.parse(x.ev) as ScanEvent),
      spikes: spikes.map((x) => JSON.parse(x.ev) as SpikeEvent),
    };
  }

  private sourcesSync(q: TimeRange & { port?: number; limit: number; offset: number }): Page<SourceRow> {
    if (q.port === undefined) {
      const rows = this.st(
        `SELECT * FROM sources WHERE last_seen >= ? AND first_seen < ? ORDER BY last_seen DESC, ip
         LIMIT ? OFFSET ?`,
      ).all(q.from, q.to, q.limit, q.offset) as SourceDbRow[];
      const total = this.st('SELECT count(*) n FROM sources WHERE last_seen >= ? AND first_seen < ?').get(
        q.from,
        q.to,
      ) as { n: number };
      return { rows: rows.map((r) => this.toSource(r)), total: total.n };
    }
    // On one port: attempts counted on that port in the range, from the daily rows.
    const dA = Math.floor(q.from / DAY);
    const dB = Math.floor((q.to - 1) / DAY);
    const rows = this.st(
      `SELECT src_ip ip, sum(count) n FROM daily WHERE dst_port = ? AND day >= ? AND day <= ?
       GROUP BY src_ip ORDER BY n DESC, ip LIMIT ? OFFSET ?`,
    ).all(q.port, dA, dB, q.limit, q.offset) as { ip: string; n: number }[];
    const total = this.st(
      'SELECT count(DISTINCT src_ip) n FROM daily WHERE dst_port = ? AND day >= ? AND day <= ?',
    ).get(q.port, dA, dB) as { n: number };
    const out: SourceRow[] = [];
    for (const { ip, n } of rows) {
      const s = this.st('SELECT * FROM sources WHERE ip = ?').get(ip) as SourceDbRow | undefined;
      if (s) out.push(this.toSource(s, n));
    }
    return { rows: out, total: total.n };
  }

  private toSession(r: SessionDbRow): SessionRow {
    const row: SessionRow = {
      id: r.id,
      ts: new Date(r.ts).toISOString(),
      ended: new Date(r.ended).toISOString(),
      proto: r.proto,
      src: r.src,
      sport: r.sport,
      dst: r.dst,
      dport: r.dport,
      bytes: r.bytes,
      truncated: r.truncated === 1,
      close: r.close,
      payload: r.data ? r.data.toString('base64') : '',
    };
    const tls = parse<TlsInfo>(r.tls);
    if (tls) row.tls = tls;
    if (r.persona !== null) Object.assign(row, { persona: r.persona }, parse<Partial<SessionRow>>(r.respond));
    const tags = parse<Tag[]>(r.tags);
    if (tags) row.tags = tags;
    const geo = parse<Geo>(r.geo);
    if (geo) row.geo = geo;
    return withIntel(row, r);
  }

  private sessionSync(id: number): SessionRow | undefined {
    const r = this.st(
      'SELECT s.*, p.data data FROM sessions s LEFT JOIN payloads p ON p.id = s.payload_id WHERE s.id = ?',
    ).get(id) as SessionDbRow | undefined;
    return r && this.toSession(r);
  }

  private pageOf<T>(sql: string, countSql: string, args: unknown[], limit: number, offset: number): Page<T> {
    const rows = this.st(sql).all(...args, limit, offset) as { ev: string }[];
    const total = (this.st(countSql).get(...args) as { n: number }).n;
    return { rows: rows.map((r) => JSON.parse(r.ev) as T), total };
  }

  campaigns = async (q: TimeRange & { limit: number; offset: number }): Promise<Page<CampaignEvent>> =>
    this.pageOf<CampaignEvent>(
      'SELECT ev FROM campaigns WHERE ts >= ? AND ts < ? ORDER BY ts DESC, id DESC LIMIT ? OFFSET ?',
      'SELECT count(*) n FROM campaigns WHERE ts >= ? AND ts < ?',
      [q.from, q.to],
      q.limit,
      q.offset,
    );

  iocs = async (q: TimeRange & { limit: number; offset: number; src?: string }): Promise<Page<IocRow>> => {
    // Sources are a short JSON list per IOC: a source filter looks for the quoted address in it.
    const src = q.src === undefined ? '' : ' AND instr(sources, ?) > 0';
    const args = q.src === undefined ? [q.from, q.to] : [q.from, q.to, JSON.stringify(q.src)];
    const where = `WHERE last_seen >= ? AND first_seen < ?${src}`;
    const rows = this.st(`SELECT * FROM iocs ${where} ORDER BY last_seen DESC LIMIT ? OFFSET ?`).all(
      ...args,
      q.limit,
      q.offset,
    ) as IocDbRow[];
    const total = (this.st(`SELECT count(*) n FROM iocs ${where}`).get(...args) as { n: number }).n;
    return {
      rows: rows.map((r) => ({
        kind: r.kind,
        value: r.value,
        first_seen: new Date(r.first_seen).toISOString(),
        last_seen: new Date(r.last_seen).toISOString(),
        sessions: r.sessions,
        sources: JSON.parse(r.sources) as string[],
      })),
      total,
    };
  };

  summary = async (r: TimeRange): Promise<Summary> => this.summarySync(r);
  topPorts = async (q: TimeRange & { proto?: 'tcp' | 'udp'; limit: number }): Promise<PortCount[]> =>
    this.counters.topPorts(q);
  portSeries = async (
    q: TimeRange & { proto: SeriesProto; port: number; step: 'minute' | 'hour' | 'day' },
  ): Promise<SeriesPoint[]> => this.counters.series(q);
  sources = async (
    q: TimeRange & { port?: number; limit: number; offset: number },
  ): Promise<Page<SourceRow>> => this.sourcesSync(q);
  source = async (ip: string): Promise<SourceRow | undefined> => this.sourceSync(ip);
  sessions = async (q: SessionQuery): Promise<SessionPage> => this.search.search(q);
  session = async (id: number): Promise<SessionRow | undefined> => this.sessionSync(id);

  scans = async (
    q: TimeRange & { limit: number; offset: number; src?: string },
  ): Promise<Page<ScanEvent>> => {
    const src = q.src === undefined ? '' : ' AND src = ?';
    const where = `WHERE last_seen >= ? AND first_seen < ?${src}`;
    const args = q.src === undefined ? [q.from, q.to] : [q.from, q.to, q.src];
    return this.pageOf<ScanEvent>(
      `SELECT ev FROM scans ${where} ORDER BY last_seen DESC, id LIMIT ? OFFSET ?`,
      `SELECT count(*) n FROM scans ${where}`,
      args,
      q.limit,
      q.offset,
    );
  };

  spikes = async (
    q: TimeRange & { limit: number; offset: number; port?: number },
  ): Promise<Page<SpikeEvent>> => {
    const port = q.port === undefined ? '' : ' AND dport = ?';
    const where = `WHERE ts >= ? AND ts < ?${port}`;
    const args = q.port === undefined ? [q.from, q.to] : [q.from, q.to, q.port];
    return this.pageOf<SpikeEvent>(
      `SELECT ev FROM spikes ${where} ORDER BY ts DESC, id DESC LIMIT ? OFFSET ?`,
      `SELECT count(*) n FROM spikes ${where}`,
      args,
      q.limit,
      q.offset,
    );
  };

  blocks = async (q: {
    active?: boolean;
    limit: number;
    offset: number;
  }): Promise<Page<{ src: string; added: string; until?: string; reason: string; action: string }>> => {
    // Active: the latest row of a source says "added" and its timeout has not passed.
    const where = q.active
      ? `WHERE b.id = (SELECT max(id) FROM blocks WHERE src = b.src) AND b.action = 'added'
         AND (b.until IS NULL OR b.until > ?)`
      : '';
    const args = q.active ? [Date.now()] : [];
    const rows = this.st(
      `SELECT src, ts, until, reason, action FROM blocks b ${where} ORDER BY ts DESC, id DESC LIMIT ? OFFSET ?`,
    ).all(...args, q.limit, q.offset) as {
      src: string;
      ts: number;
      until: number | null;
      reason: string;
      action: string;
    }[];
    const total = (this.st(`SELECT count(*) n FROM blocks b ${where}`).get(...args) as { n: number }).n;
    return {
      rows: rows.map((r) => ({
        src: r.src,
        added: new Date(r.ts).toISOString(),
        ...(r.until === null ? {} : { until: new Date(r.until).toISOString() }),
        reason: r.reason,
        action: r.action,
      })),
      total,
    };
  };

  /** This sensor as the only row: it is serving, so it is alive (ok, or quiet without traffic this hour). */
  sensors = async (): Promise<SensorRow[]> => {
    const now = Date.now();
    const r = this.st(
      `SELECT min(minute) f, max(minute) l, coalesce(sum(CASE WHEN minute >= ? THEN new_n + sess_n END), 0) h
       FROM counters_min WHERE proto = ${PROTO_TOTAL} AND port = 0`,
    ).get(Math.floor(now / MIN) - 60) as { f: number | null; l: number | null; h: number };
    const t = this.counters.totals({ from: 0, to: now + MIN });
    return [
      {
        sensor: this.single,
        first_seen: r.f === null ? null : r.f * MIN,
        last_seen: r.l === null ? null : r.l * MIN,
        last_heartbeat: now,
        events_last_hour: r.h,
        sessions: t.s,
        attempts: t.n,
        state: r.h > 0 ? 'ok' : 'quiet',
      },
    ];
  };

  /** One sensor: each spike is its own group. */
  fleetSpikes = async (q: TimeRange & { limit: number }): Promise<FleetSpike[]> =>
    (await this.spikes({ ...q, offset: 0 })).rows.map((ev) => {
      const t = Date.parse(ev.ts);
      const step = ev.interval_s * 1000;
      return {
        proto: ev.proto,
        dport: ev.dport,
        interval_s: ev.interval_s,
        t: step > 0 ? Math.floor(t / step) * step : t,
        sensors: [ev.sensor],
        count: ev.count,
        score: ev.score,
      };
    });

  dailyRows = async (day: string): Promise<DailyRow[]> => {
    const ms = /^\d{4}-\d{2}-\d{2}$/.test(day) ? Date.parse(`${day}T00:00:00Z`) : NaN;
    if (Number.isNaN(ms))
      throw new TidewatchError('TW_ERR_STORE', `not a day (YYYY-MM-DD): ${day.slice(0, 40)}`);
    return this.st(
      `SELECT proto, dst_port, dst_ip, src_ip, first_seen, last_seen, count FROM daily WHERE day = ?
       ORDER BY proto, dst_port, dst_ip, src_ip`,
    ).all(ms / DAY) as DailyRow[];
  };
}
