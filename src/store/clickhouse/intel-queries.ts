// Intelligence over ClickHouse, in the SQLite store's shapes: campaign events (kept whole in `events`) and
// IOCs, aggregated on read from one row per session and IOC (first/last seen, sessions, and the sources
// that sent it most: topK keeps the list bounded; 18.16 has no groupUniqArray(N)).
import type { CampaignEvent } from '../../core/events.js';
import { MAX_IOC_SOURCES } from '../sqlite/intel-writer.js';
import type { IocRow, Page, SensorFilter, TimeRange } from '../query.js';
import type { Rows } from './counter-queries.js';
import { day, EMPTY, ip, qualified, sql, type Sql } from './sql.js';

const DAY = 86_400_000;

type R = TimeRange & SensorFilter & { limit: number; offset: number };

export class IntelQueries {
  constructor(
    private readonly database: string,
    private readonly rows: Rows,
    private readonly sensorCond: (f: SensorFilter) => Sql,
  ) {}

  private async count(q: Sql): Promise<number> {
    const [r] = await this.rows<{ n: string }>(sql`SELECT count() AS n FROM (${q})`);
    return Number(r?.n ?? 0);
  }

  async campaigns(q: R): Promise<Page<CampaignEvent>> {
    const where = sql`type = 'campaign' AND day >= ${day(Math.floor(q.from / DAY))}
      AND day <= ${day(Math.floor(Math.max(0, q.to - 1) / DAY))} AND ts >= ${q.from} AND ts < ${q.to}${this.sensorCond(q)}`;
    const events = qualified(this.database, 'events');
    const [rows, total] = await Promise.all([
      this.rows<{ ev: string }>(
        sql`SELECT ev FROM ${events} WHERE ${where} ORDER BY ts DESC LIMIT ${q.offset}, ${q.limit}`,
      ),
      this.count(sql`SELECT 1 FROM ${events} WHERE ${where}`),
    ]);
    return { rows: rows.map((r) => JSON.parse(r.ev) as CampaignEvent), total };
  }

  /** IOCs whose first..last seen overlaps the range; with src, only those that source sent. */
  async iocs(q: R & { src?: string }): Promise<Page<IocRow>> {
    const src = q.src === undefined ? EMPTY : sql` AND countIf(src = ${ip(q.src)}) > 0`;
    const groups = sql`SELECT kind, value, min(ts) AS f, max(ts) AS l, count() AS n,
      topK(${MAX_IOC_SOURCES})(src) AS s FROM ${qualified(this.database, 'iocs')}
      WHERE day <= ${day(Math.floor(Math.max(0, q.to - 1) / DAY))}${this.sensorCond(q)}
      GROUP BY kind, value HAVING l >= ${q.from} AND f < ${q.to}${src}`;
    const [rows, total] = await Promise.all([
      this.rows<{ kind: 'url' | 'host'; value: string; f: string; l: string; n: string; s: string[] }>(
        sql`SELECT * FROM (${groups}) ORDER BY l DESC, kind, value LIMIT ${q.offset}, ${q.limit}`,
      ),
      this.count(groups),
    ]);
    return {
      rows: rows.map((r) => ({
        kind: r.kind,
        value: r.value,
        first_seen: new Date(Number(r.f)).toISOString(),
        last_seen: new Date(Number(r.l)).toISOString(),
        sessions: Number(r.n),
        sources: [...r.s].sort(),
      })),
      total,
    };
  }
}
