// The QueryStore over a fleet's ClickHouse: the same answers as the SQLite store (one contract test runs the
// web API against both), plus the sensor filter, the sensors list and fleet-wide spike groups. Summaries read
// rollups filled by materialized views (counters_*, sources_day, geo_day), never raw sessions. Values enter
// SQL only through sql.ts; UInt64 values arrive as strings and are turned into numbers here.
import type { ClickHouseClient } from '@clickhouse/client';

import type { CampaignEvent, ScanEvent, SpikeEvent, Tag } from '../../core/events.js';
import { TidewatchError } from '../../core/errors.js';
import {
  QUERY_BUDGET_MS,
  type DailyRow,
  type FleetSpike,
  type IocRow,
  type Page,
  type PortCount,
  type QueryStore,
  type SensorFilter,
  type SensorRow,
  type SeriesPoint,
  type SeriesProto,
  type SessionPage,
  type SessionQuery,
  type SessionRow,
  type SourceRow,
  type Summary,
  type TimeRange,
} from '../query.js';
import { PROTO_TOTAL } from '../sqlite/schema.js';
import { ClickHouseCounters } from './counter-queries.js';
import { IntelQueries } from './intel-queries.js';
import { SessionQueries } from './session-queries.js';
import { day, EMPTY, ip, list, qualified, sql, type Sql } from './sql.js';

const MIN = 60_000;
const DAY = 86_400_000;
const ACTIVE_SCAN_MS = 15 * MIN;
/** No heartbeat for this long: the sensor (or its shipping) is down. */
export const SILENT_MS = 2 * MIN;

type R = TimeRange & SensorFilter;

interface SourceAgg {
  ip: string;
  first_seen: string;
  last_seen: string;
  sessions: string;
  attempts: string;
  cc: string;
  asn: number;
  org: string;
  sensors: string;
}

const SOURCE_COLS = sql`src AS ip, minMerge(first_seen) AS f, maxMerge(last_seen) AS l, sumMerge(sessions) AS s,
  sumMerge(attempts) AS a, maxMerge(cc) AS cc, maxMerge(asn) AS asn, maxMerge(org) AS org,
  uniqExact(sensor) AS n`;

const dayNum = (ms: number): number => Math.max(0, Math.floor(ms / DAY));

export class ClickHouseQueryStore implements QueryStore {
  private readonly counters: ClickHouseCounters;
  private readonly sessionQ: SessionQueries;
  private readonly intel: IntelQueries;

  constructor(
    private readonly ch: ClickHouseClient,
    private readonly database: string,
    private readonly budgetMs = QUERY_BUDGET_MS,
  ) {
    this.counters = new ClickHouseCounters(database, this.rows);
    this.sessionQ = new SessionQueries(database, this.rows);
    this.intel = new IntelQueries(database, this.rows, (f) => this.sc(f));
  }

  /** Every read runs under the API's time budget: past it ClickHouse stops the query (TIMEOUT_EXCEEDED). */
  private readonly rows = async <T>(q: Sql): Promise<T[]> => {
    try {
      const settings = { max_execution_time: Math.max(1, Math.ceil(this.budgetMs / 1000)) };
      return await (
        await this.ch.query({ query: q.text, format: 'JSONEachRow', clickhouse_settings: settings })
      ).json<T>();
    } catch (err) {
      if ((err as { type?: string }).type === 'TIMEOUT_EXCEEDED')
        throw new TidewatchError(
          'TW_ERR_STORE_TIMEOUT',
          `ClickHouse query ran past its ${this.budgetMs} ms budget: narrow the time range or search`,
          { cause: err },
        );
      throw err;
    }
  };

  private t(name: string): Sql {
    return qualified(this.database, name);
  }

  private sc(f: SensorFilter): Sql {
    return this.counters.sensorCond(f);
  }

  private days(r: TimeRange, column = sql`day`): Sql {
    return sql`${column} >= ${day(dayNum(r.from))} AND ${column} <= ${day(dayNum(r.to - 1))}`;
  }

  private async count(q: Sql): Promise<number> {
    const [r] = await this.rows<{ n: string }>(sql`SELECT count() AS n FROM (${q})`);
    return Number(r?.n ?? 0);
  }

  /** Source rows with ports and tags, from the aggregated rows of sources_day. */
  private async decorate(aggs: SourceAgg[], attempts?: Map<string, number>): Promise<SourceRow[]> {
    if (!aggs.length) return [];
    const ips = list(aggs.map((a) => ip(a.ip)));
    const ports = new Map(
      (
        await this.rows<{ ip: string; n: string }>(
          sql`SELECT src_ip AS ip, uniqExact(dst_port) AS n FROM ${this.t('daily')} WHERE src_ip IN (${ips}) GROUP BY src_ip`,
        )
      ).map((r) => [r.ip, Number(r.n)]),
    );
    const tags = new Map<string, Tag[]>();
    for (const r of await this.rows<{ ip: string; name: string; c: number }>(
      sql`SELECT src AS ip, name, max(confidence) AS c FROM ${this.t('source_tags')} WHERE src IN (${ips})
        GROUP BY src, name ORDER BY c DESC, name`,
    )) {
      const list = tags.get(r.ip) ?? [];
      if (list.length < 16) list.push({ name: r.name, confidence: r.c });
      tags.set(r.ip, list);
    }
    return aggs.map((a) => {
      const row: SourceRow = {
        ip: a.ip,
        first_seen: Number(a.first_seen),
        last_seen: Number(a.last_seen),
        sessions: Number(a.sessions),
        attempts: attempts?.get(a.ip) ?? Number(a.attempts),
        ports: ports.get(a.ip) ?? 0,
        tags: tags.get(a.ip) ?? [],
        sensors: Number(a.sensors),
      };
      if (a.cc || a.asn) {
        row.geo = {};
        if (a.cc) row.geo.cc = a.cc;
        if (a.asn) row.geo.asn = Number(a.asn);
        if (a.org) row.geo.org = a.org;
      }
      return row;
    });
  }

  private sourceAggs(where: Sql, having: Sql, order: Sql, limit: number, offset = 0): Promise<SourceAgg[]> {
    return this.rows<SourceAgg>(
      sql`SELECT ip, f AS first_seen, l AS last_seen, s AS sessions, a AS attempts, cc, asn, org, n AS sensors
        FROM (SELECT ${SOURCE_COLS} FROM ${this.t('sources_day')} WHERE ${where} GROUP BY src ${having})
        ORDER BY ${order} LIMIT ${offset}, ${limit}`,
    );
  }

  private inRange(r: TimeRange): Sql {
    return sql`HAVING l >= ${r.from} AND f < ${r.to}`;
  }

  summary = async (r: R): Promise<Summary> => {
    const nowMin = Math.floor(r.to / MIN);
    const where = sql`${this.days(r)}${this.sc(r)}`;
    const [t, recent, topPorts, topSources, bySensors] = await Promise.all([
      this.counters.totals(r),
      this.counters.totals({ ...r, from: (nowMin - 5) * MIN, to: nowMin * MIN }),
      this.counters.topPorts({ ...r, limit: 10 }),
      this.sourceAggs(where, this.inRange(r), sql`a DESC, ip`, 10),
      this.sourceAggs(where, this.inRange(r), sql`n DESC, a DESC, ip`, 10),
    ]);
    const geo = (col: Sql, cond: Sql): Sql =>
      sql`SELECT ${col}, any(org) AS org, sum(attempts + sessions) AS count FROM ${this.t('geo_day')}
        WHERE ${where} AND ${cond} GROUP BY ${col} ORDER BY count DESC, ${col} LIMIT 10`;
    const [sources, scans, spikes, blocks, cc, asn, active, spikeRows, topS, topBy] = await Promise.all([
      this.count(
        sql`SELECT src, ${SOURCE_COLS} FROM ${this.t('sources_day')} WHERE ${where} GROUP BY src ${this.inRange(r)}`,
      ),
      this.count(this.scanGroups(r, EMPTY)),
      this.count(sql`SELECT 1 FROM ${this.t('spikes')} WHERE ${where} AND ts >= ${r.from} AND ts < ${r.to}`),
      this.count(
        sql`SELECT 1 FROM ${this.t('blocks')} WHERE ${where} AND ts >= ${r.from} AND ts < ${r.to} AND action = 'added'`,
      ),
      this.rows<{ cc: string; count: string }>(geo(sql`cc`, sql`cc != ''`)),
      this.rows<{ asn: number; org: string; count: string }>(geo(sql`asn`, sql`asn != 0`)),
      this.rows<{ ev: string }>(
        sql`SELECT ev FROM (${this.scanGroups({ ...r, from: Math.max(r.from, r.to - ACTIVE_SCAN_MS) }, sql` AND st != 'closed'`)})
          ORDER BY l DESC LIMIT 20`,
      ),
      this.rows<{ ev: string }>(
        sql`SELECT ev FROM ${this.t('spikes')} WHERE ${where} AND ts >= ${r.from} AND ts < ${r.to} ORDER BY ts DESC LIMIT 20`,
      ),
      this.decorate(topSources),
      this.decorate(bySensors),
    ]);
    return {
      totals: { sessions: t.s, attempts: t.n, sources, scans, spikes, blocks },
      rates: { sessions_per_min: recent.s / 5, attempts_per_min: recent.n / 5 },
      top_ports: topPorts,
      top_sources: topS,
      top_sources_by_sensors: topBy,
      top_countries: cc.map((c) => ({ cc: c.cc, count: Number(c.count) })),
      top_asns: asn.map((a) => ({
        asn: Number(a.asn),
        ...(a.org ? { org: a.org } : {}),
        count: Number(a.count),
      })),
      active_scans: active.map((x) => JSON.parse(x.ev) as ScanEvent),
      spikes: spikeRows.map((x) => JSON.parse(x.ev) as SpikeEvent),
    };
  };

  /** Scan episodes (latest state of each) that overlap the range; `having` may filter on st, l, f. */
  private scanGroups(r: R & { src?: string }, having: Sql): Sql {
    const src = r.src === undefined ? EMPTY : sql` AND src = ${ip(r.src)}`;
    return sql`SELECT sensor, id, argMax(ev, last_ms) AS ev, argMax(state, last_ms) AS st, max(last_ms) AS l,
      min(first_ms) AS f FROM ${this.t('scans')} WHERE day <= ${day(dayNum(r.to - 1))}${src}${this.sc(r)}
      GROUP BY sensor, id HAVING l >= ${r.from} AND f < ${r.to}${having}`;
  }

  topPorts = (q: R & { proto?: 'tcp' | 'udp'; limit: number }): Promise<PortCount[]> =>
    this.counters.topPorts(q);

  portSeries = (
    q: R & { proto: SeriesProto; port: number; step: 'minute' | 'hour' | 'day' },
  ): Promise<SeriesPoint[]> => this.counters.series(q);

  sources = async (q: R & { port?: number; limit: number; offset: number }): Promise<Page<SourceRow>> => {
    const where = sql`${this.days(q)}${this.sc(q)}`;
    if (q.port === undefined) {
      const [aggs, total] = await Promise.all([
        this.sourceAggs(where, this.inRange(q), sql`l DESC, ip`, q.limit, q.offset),
        this.count(
          sql`SELECT src, ${SOURCE_COLS} FROM ${this.t('sources_day')} WHERE ${where} GROUP BY src ${this.inRange(q)}`,
        ),
      ]);
      return { rows: await this.decorate(aggs), total };
    }
    // On one port: attempts counted on that port in the range, from the daily rows.
    const onPort = sql`${where} AND dst_port = ${q.port}`;
    const [byIp, total] = await Promise.all([
      this.rows<{ ip: string; n: string }>(
        sql`SELECT src_ip AS ip, sum(count) AS n FROM ${this.t('daily')} WHERE ${onPort} GROUP BY src_ip
          ORDER BY n DESC, ip LIMIT ${q.offset}, ${q.limit}`,
      ),
      this.count(sql`SELECT DISTINCT src_ip FROM ${this.t('daily')} WHERE ${onPort}`),
    ]);
    if (!byIp.length) return { rows: [], total };
    const n = new Map(byIp.map((r) => [r.ip, Number(r.n)]));
    const aggs = await this.sourceAggs(
      sql`src IN (${list(byIp.map((r) => ip(r.ip)))})${this.sc(q)}`,
      EMPTY,
      sql`ip`,
      byIp.length,
    );
    const rows = await this.decorate(aggs, n);
    rows.sort((a, b) => b.attempts - a.attempts || (a.ip < b.ip ? -1 : 1));
    return { rows, total };
  };

  source = async (addr: string, f: SensorFilter = {}): Promise<SourceRow | undefined> => {
    const aggs = await this.sourceAggs(sql`src = ${ip(addr)}${this.sc(f)}`, EMPTY, sql`ip`, 1);
    return (await this.decorate(aggs))[0];
  };

  sessions = (q: SessionQuery): Promise<SessionPage> => this.sessionQ.search(q);
  campaigns = (q: R & { limit: number; offset: number }): Promise<Page<CampaignEvent>> =>
    this.intel.campaigns(q);
  iocs = (q: R & { limit: number; offset: number; src?: string }): Promise<Page<IocRow>> =>
    this.intel.iocs(q);
  session = (id: number, f: SensorFilter = {}): Promise<SessionRow | undefined> => this.sessionQ.one(id, f);

  scans = async (q: R & { limit: number; offset: number; src?: string }): Promise<Page<ScanEvent>> => {
    const groups = this.scanGroups(q, EMPTY);
    const [rows, total] = await Promise.all([
      this.rows<{ ev: string }>(
        sql`SELECT ev FROM (${groups}) ORDER BY l DESC, id LIMIT ${q.offset}, ${q.limit}`,
      ),
      this.count(groups),
    ]);
    return { rows: rows.map((r) => JSON.parse(r.ev) as ScanEvent), total };
  };

  spikes = async (q: R & { limit: number; offset: number; port?: number }): Promise<Page<SpikeEvent>> => {
    const port = q.port === undefined ? EMPTY : sql` AND dport = ${q.port}`;
    const where = sql`${this.days(q)} AND ts >= ${q.from} AND ts < ${q.to}${port}${this.sc(q)}`;
    const [rows, total] = await Promise.all([
      this.rows<{ ev: string }>(
        sql`SELECT ev FROM ${this.t('spikes')} WHERE ${where} ORDER BY ts DESC LIMIT ${q.offset}, ${q.limit}`,
      ),
      this.count(sql`SELECT 1 FROM ${this.t('spikes')} WHERE ${where}`),
    ]);
    return { rows: rows.map((r) => JSON.parse(r.ev) as SpikeEvent), total };
  };

  blocks = async (
    q: SensorFilter & { active?: boolean; limit: number; offset: number },
  ): Promise<Page<{ src: string; added: string; until?: string; reason: string; action: string }>> => {
    // Active: the latest row of a source (on its sensor) says "added" and its timeout has not passed.
    const base = q.active
      ? sql`SELECT src, max(ts) AS t, argMax(until, ts) AS u, argMax(reason, ts) AS reason,
          argMax(action, ts) AS a FROM ${this.t('blocks')} WHERE 1${this.sc(q)} GROUP BY sensor, src
          HAVING a = 'added' AND (u = 0 OR u > ${Date.now()})`
      : sql`SELECT src, ts AS t, until AS u, reason, action AS a FROM ${this.t('blocks')} WHERE 1${this.sc(q)}`;
    const [rows, total] = await Promise.all([
      this.rows<{ src: string; t: string; u: string; reason: string; a: string }>(
        sql`SELECT * FROM (${base}) ORDER BY t DESC, src LIMIT ${q.offset}, ${q.limit}`,
      ),
      this.count(base),
    ]);
    return {
      rows: rows.map((r) => ({
        src: r.src,
        added: new Date(Number(r.t)).toISOString(),
        ...(Number(r.u) ? { until: new Date(Number(r.u)).toISOString() } : {}),
        reason: r.reason,
        action: r.a,
      })),
      total,
    };
  };

  dailyRows = async (d: string, f: SensorFilter = {}): Promise<DailyRow[]> => {
    const ms = /^\d{4}-\d{2}-\d{2}$/.test(d) ? Date.parse(`${d}T00:00:00Z`) : NaN;
    if (Number.isNaN(ms))
      throw new TidewatchError('TW_ERR_STORE', `not a day (YYYY-MM-DD): ${d.slice(0, 40)}`);
    const rows = await this.rows<{
      proto: string;
      p: number;
      dst: string;
      src: string;
      f: number;
      l: number;
      n: string;
    }>(
      sql`SELECT proto, dst_port AS p, dst_ip AS dst, src_ip AS src, min(first_seen) AS f, max(last_seen) AS l,
        sum(count) AS n FROM ${this.t('daily')} WHERE day = ${day(ms / DAY)}${this.sc(f)}
        GROUP BY proto, dst_port, dst_ip, src_ip ORDER BY proto, dst_port, dst_ip, src_ip`,
    );
    return rows.map((r) => ({
      proto: r.proto,
      dst_port: r.p < 0 ? null : r.p,
      dst_ip: r.dst,
      src_ip: r.src,
      first_seen: r.f,
      last_seen: r.l,
      count: Number(r.n),
    }));
  };

  sensors = async (): Promise<SensorRow[]> => {
    const now = Date.now();
    const hourAgo = Math.floor(now / MIN) - 60;
    const rows = await this.rows<{
      sensor: string;
      f: string;
      l: string;
      h: string;
      s: string;
      a: string;
      hb: string;
    }>(
      sql`SELECT sensor, min(f) AS f, max(l) AS l, sum(h) AS h, sum(s) AS s, sum(a) AS a, max(hb) AS hb FROM (
          SELECT sensor, min(minute) * 60000 AS f, max(minute) * 60000 AS l,
            sumIf(new_n + sess_n, minute >= ${hourAgo}) AS h, toUInt64(0) AS s, toUInt64(0) AS a, toUInt64(0) AS hb
          FROM ${this.t('counters_min')} WHERE proto = ${PROTO_TOTAL} AND port = 0 GROUP BY sensor
        UNION ALL
          SELECT sensor, toUInt64(0) AS f, toUInt64(0) AS l, toUInt64(0) AS h, sum(sess_n) AS s, sum(new_n) AS a,
            toUInt64(0) AS hb FROM ${this.t('counters_day')} WHERE proto = ${PROTO_TOTAL} GROUP BY sensor
        UNION ALL
          SELECT sensor, toUInt64(0) AS f, toUInt64(0) AS l, toUInt64(0) AS h, toUInt64(0) AS s, toUInt64(0) AS a,
            max(ts) AS hb FROM ${this.t('heartbeats')} WHERE day >= ${day(dayNum(now - 2 * DAY))} GROUP BY sensor
        ) GROUP BY sensor ORDER BY sensor`,
    );
    return rows.map((r) => {
      const hb = Number(r.hb) || null;
      const h = Number(r.h);
      const f = Number(r.f);
      return {
        sensor: r.sensor,
        first_seen: r.l === '0' ? null : f,
        last_seen: Number(r.l) || null,
        last_heartbeat: hb,
        events_last_hour: h,
        sessions: Number(r.s),
        attempts: Number(r.a),
        state: hb === null || now - hb > SILENT_MS ? 'silent' : h > 0 ? 'ok' : 'quiet',
      };
    });
  };

  fleetSpikes = async (q: R & { limit: number }): Promise<FleetSpike[]> => {
    const rows = await this.rows<{
      proto: 'tcp' | 'udp';
      dport: number;
      interval_s: number;
      slot: string;
      sensors: string[];
      c: string;
      score: number;
    }>(
      sql`SELECT proto, dport, interval_s, intDiv(ts, interval_s * 1000) AS slot, groupUniqArray(sensor) AS sensors,
        sum(visitParamExtractUInt(ev, 'count')) AS c, max(visitParamExtractFloat(ev, 'score')) AS score
        FROM ${this.t('spikes')} WHERE ${this.days(q)} AND ts >= ${q.from} AND ts < ${q.to} AND interval_s > 0${this.sc(q)}
        GROUP BY proto, dport, interval_s, slot ORDER BY slot DESC, length(sensors) DESC, dport LIMIT ${q.limit}`,
    );
    return rows.map((r) => ({
      proto: r.proto,
      dport: Number(r.dport),
      interval_s: Number(r.interval_s),
      t: Number(r.slot) * Number(r.interval_s) * 1000,
      sensors: [...r.sensors].sort(),
      count: Number(r.c),
      score: Number(r.score),
    }));
  };
}
