// Counter queries over the fleet's rollups (filled by materialized views, never from raw sessions): a range
// is cut into its ragged minutes, whole hours and whole UTC days, each read from the table of that grain.
import type { PortCount, SensorFilter, SeriesPoint, SeriesProto, TimeRange } from '../query.js';
import { PROTO_TOTAL } from '../sqlite/schema.js';
import { day, EMPTY, qualified, sql, str, type Sql } from './sql.js';

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const MAX_POINTS = 1_000_000;
const PROTO_NAME = ['tcp', 'udp'] as const;

export type Rows = <T>(q: Sql) => Promise<T[]>;

/** [table, time column, from, to] parts of [from, to): minutes, hours, days, hours, minutes. */
export function grains(r: TimeRange): [string, 'minute' | 'hour' | 'day', number, number][] {
  const mA = Math.floor(r.from / MIN);
  const mB = Math.max(mA, Math.ceil(r.to / MIN));
  const hA = Math.ceil(mA / 60);
  const hB = Math.floor(mB / 60);
  if (hA >= hB) return [['counters_min', 'minute', mA, mB]];
  const dA = Math.ceil(hA / 24);
  const dB = Math.floor(hB / 24);
  if (dA >= dB)
    return [
      ['counters_min', 'minute', mA, hA * 60],
      ['counters_hour', 'hour', hA, hB],
      ['counters_min', 'minute', hB * 60, mB],
    ];
  return [
    ['counters_min', 'minute', mA, hA * 60],
    ['counters_hour', 'hour', hA, dA * 24],
    ['counters_day', 'day', dA, dB],
    ['counters_hour', 'hour', dB * 24, hB],
    ['counters_min', 'minute', hB * 60, mB],
  ];
}

export class ClickHouseCounters {
  constructor(
    private readonly database: string,
    private readonly rows: Rows,
  ) {}

  sensorCond(f: SensorFilter): Sql {
    return f.sensor === undefined ? EMPTY : sql` AND sensor = ${str(f.sensor)}`;
  }

  /** The union of the grains of a range, each row (proto, port, all_n, new_n, sess_n) under `cond`. */
  private union(r: TimeRange & SensorFilter, cond: Sql): Sql {
    const parts = grains(r)
      .filter(([, , a, b]) => a < b)
      .map(([table, col, a, b]) => {
        const t = qualified(this.database, table);
        const range =
          col === 'day'
            ? sql`day >= ${day(a)} AND day < ${day(b)}`
            : col === 'hour'
              ? sql`hour >= ${a} AND hour < ${b}`
              : sql`minute >= ${a} AND minute < ${b}`;
        return sql`SELECT proto, port, all_n, new_n, sess_n FROM ${t} WHERE ${range}${cond}${this.sensorCond(r)}`;
      });
    if (!parts.length) {
      const t = qualified(this.database, 'counters_min');
      return sql`SELECT proto, port, all_n, new_n, sess_n FROM ${t} WHERE 0`;
    }
    return unionAll(parts);
  }

  async totals(r: TimeRange & SensorFilter): Promise<{ a: number; n: number; s: number }> {
    const u = this.union(r, sql` AND proto = ${PROTO_TOTAL} AND port = 0`);
    const [row] = await this.rows<{ a: string; n: string; s: string }>(
      sql`SELECT sum(all_n) AS a, sum(new_n) AS n, sum(sess_n) AS s FROM (${u})`,
    );
    return { a: Number(row?.a ?? 0), n: Number(row?.n ?? 0), s: Number(row?.s ?? 0) };
  }

  async topPorts(
    q: TimeRange & SensorFilter & { proto?: 'tcp' | 'udp'; limit: number },
  ): Promise<PortCount[]> {
    const cond =
      q.proto === undefined
        ? sql` AND proto < ${PROTO_TOTAL}`
        : sql` AND proto = ${PROTO_NAME.indexOf(q.proto)}`;
    const rows = await this.rows<{ proto: number; port: number; a: string; n: string; s: string }>(
      sql`SELECT proto, port, sum(all_n) AS a, sum(new_n) AS n, sum(sess_n) AS s FROM (${this.union(q, cond)})
        GROUP BY proto, port ORDER BY n DESC, a DESC, s DESC, port LIMIT ${q.limit}`,
    );
    return rows.map((r) => ({
      proto: PROTO_NAME[r.proto] ?? 'tcp',
      port: Number(r.port),
      all: Number(r.a),
      new: Number(r.n),
      sessions: Number(r.s),
    }));
  }

  async series(
    q: TimeRange & SensorFilter & { proto: SeriesProto; port: number; step: 'minute' | 'hour' | 'day' },
  ): Promise<SeriesPoint[]> {
    const stepMs = q.step === 'minute' ? MIN : q.step === 'hour' ? HOUR : DAY;
    const a = Math.floor(q.from / stepMs);
    const b = Math.max(a, Math.ceil(q.to / stepMs));
    if (b - a > MAX_POINTS) return [];
    const [proto, port] = q.proto === 'all' ? [PROTO_TOTAL, 0] : [PROTO_NAME.indexOf(q.proto), q.port];
    const key = sql`proto = ${proto} AND port = ${port}${this.sensorCond(q)}`;
    const table = qualified(this.database, `counters_${q.step === 'minute' ? 'min' : q.step}`);
    const query =
      q.step === 'day'
        ? sql`SELECT toUInt32(toRelativeDayNum(day) - toRelativeDayNum(toDate('1970-01-01'))) AS t,
            sum(all_n) AS a, sum(new_n) AS n, sum(sess_n) AS s FROM ${table}
            WHERE ${key} AND day >= ${day(a)} AND day < ${day(b)} GROUP BY t`
        : sql`SELECT ${q.step === 'hour' ? sql`hour` : sql`minute`} AS t, sum(all_n) AS a, sum(new_n) AS n,
            sum(sess_n) AS s FROM ${table} WHERE ${key} AND t >= ${a} AND t < ${b} GROUP BY t`;
    const points: SeriesPoint[] = [];
    for (let i = a; i < b; i++) points.push({ t: i * stepMs, all: 0, new: 0, sessions: 0 });
    for (const r of await this.rows<{ t: number; a: string; n: string; s: string }>(query)) {
      const p = points[Number(r.t) - a];
      if (p) {
        p.all = Number(r.a);
        p.new = Number(r.n);
        p.sessions = Number(r.s);
      }
    }
    return points;
  }
}

function unionAll(parts: Sql[]): Sql {
  return parts.reduce((acc, p, i) => (i === 0 ? p : sql`${acc} UNION ALL ${p}`));
}
