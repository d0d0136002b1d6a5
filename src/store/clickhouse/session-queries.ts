// Session search over ClickHouse: filters on the sessions table, payload bytes from the payloads table (hex,
// so every byte comes back exactly), the text search as a byte search on the unhexed payload.
import type { Geo, Tag, TlsInfo } from '../../core/events.js';
import {
  formatCursor,
  type SensorFilter,
  type SessionPage,
  type SessionQuery,
  type SessionRow,
} from '../query.js';
import { withIntel } from '../sqlite/queries.js';
import type { Rows } from './counter-queries.js';
import { day, EMPTY, hexBytes, ip, join, list, qualified, sql, str, type Sql } from './sql.js';

const DAY = 86_400_000;
/** Totals are counted up to here (as the SQLite store does); beyond, `capped` is set. */
const COUNT_CAP = 100_000;
const TEXT_COUNT_CAP = 10_000;

interface SessionDbRow {
  id: string;
  ts: string;
  ended: string;
  proto: SessionRow['proto'];
  src: string;
  sport: number;
  dst: string;
  dport: number;
  bytes: string;
  truncated: number;
  close: string;
  payload: string;
  tls: string;
  tags: string;
  cc: string;
  asn: number;
  org: string;
  persona: string;
  respond: string;
  app: string;
  signature: string;
  intel: string;
}

const COLS = sql`id, ts, ended, proto, src, sport, dst, dport, bytes, truncated, close, payload, tls, tags, cc, asn,
  org, persona, respond, app, signature, intel`;

export class SessionQueries {
  constructor(
    private readonly database: string,
    private readonly rows: Rows,
  ) {}

  private t(name: string): Sql {
    return qualified(this.database, name);
  }

  private async withPayloads(rows: SessionDbRow[]): Promise<SessionRow[]> {
    const hashes = [...new Set(rows.map((r) => r.payload).filter((h) => /^[0-9a-f]{64}$/.test(h)))];
    const data = new Map<string, string>();
    if (hashes.length)
      for (const p of await this.rows<{ hash: string; data: string }>(
        sql`SELECT hash, any(data) AS data FROM ${this.t('payloads')} WHERE hash IN (${list(hashes.map(str))})
          GROUP BY hash`,
      ))
        data.set(p.hash, Buffer.from(p.data, 'hex').toString('base64'));
    return rows.map((r) => {
      const row: SessionRow = {
        id: Number(r.id),
        ts: new Date(Number(r.ts)).toISOString(),
        ended: new Date(Number(r.ended)).toISOString(),
        proto: r.proto,
        src: r.src,
        sport: r.sport,
        dst: r.dst,
        dport: r.dport,
        bytes: Number(r.bytes),
        truncated: r.truncated === 1,
        close: r.close,
        payload: data.get(r.payload) ?? '',
      };
      if (r.tls) row.tls = JSON.parse(r.tls) as TlsInfo;
      if (r.persona)
        Object.assign(row, { persona: r.persona }, JSON.parse(r.respond || '{}') as Partial<SessionRow>);
      if (r.tags) row.tags = JSON.parse(r.tags) as Tag[];
      if (r.cc || r.asn) {
        const geo: Geo = {};
        if (r.cc) geo.cc = r.cc;
        if (r.asn) geo.asn = Number(r.asn);
        if (r.org) geo.org = r.org;
        row.geo = geo;
      }
      return withIntel(row, { app: r.app || null, signature: r.signature || null, intel: r.intel || null });
    });
  }

  async search(q: SessionQuery): Promise<SessionPage> {
    const where: Sql[] = [];
    if (q.from !== undefined) where.push(sql`ts >= ${q.from} AND day >= ${day(Math.floor(q.from / DAY))}`);
    if (q.to !== undefined)
      where.push(sql`ts < ${q.to} AND day <= ${day(Math.floor(Math.max(0, q.to - 1) / DAY))}`);
    if (q.port !== undefined) where.push(sql`dport = ${q.port}`);
    if (q.src !== undefined) where.push(sql`src = ${ip(q.src)}`);
    if (q.proto !== undefined) where.push(sql`proto = ${str(q.proto)}`);
    if (q.sensor !== undefined) where.push(sql`sensor = ${str(q.sensor)}`);
    if (q.tag !== undefined) where.push(sql`has(tag_names, ${str(q.tag)})`);
    if (q.signature !== undefined) where.push(sql`signature = ${str(q.signature)}`);
    // Byte search: the needle goes in as hex, the payload is unhexed, position() compares bytes.
    if (q.text)
      where.push(
        sql`payload IN (SELECT hash FROM ${this.t('payloads')}
          WHERE position(unhex(data), ${hexBytes(Buffer.from(q.text, 'utf8'))}) > 0)`,
      );
    const cond = where.length ? sql`WHERE ${join(where, ' AND ')}` : EMPTY;
    // Keyset paging: the page starts after the cursor; the total counts the whole result.
    const c = q.cursor;
    const after = c ? [...where, sql`(ts < ${c.ts} OR (ts = ${c.ts} AND id < ${c.id}))`] : where;
    const pageCond = after.length ? sql`WHERE ${join(after, ' AND ')}` : EMPTY;
    const cap = q.text ? TEXT_COUNT_CAP : COUNT_CAP;
    const [rows, counted] = await Promise.all([
      this.rows<SessionDbRow>(
        sql`SELECT ${COLS} FROM ${this.t('sessions')} ${pageCond} ORDER BY ts DESC, id DESC LIMIT ${q.offset}, ${q.limit}`,
      ),
      this.rows<{ n: string }>(
        sql`SELECT count() AS n FROM (SELECT 1 FROM ${this.t('sessions')} ${cond} LIMIT ${cap + 1})`,
      ),
    ]);
    const total = Number(counted[0]?.n ?? 0);
    const page: SessionPage = { rows: await this.withPayloads(rows), total: Math.min(total, cap) };
    if (total > cap) page.capped = true;
    const last = rows.at(-1);
    if (last && rows.length === q.limit)
      page.next = formatCursor({ ts: Number(last.ts), id: Number(last.id) });
    return page;
  }

  async one(id: number, f: SensorFilter): Promise<SessionRow | undefined> {
    const sensor = f.sensor === undefined ? EMPTY : sql` AND sensor = ${str(f.sensor)}`;
    const rows = await this.rows<SessionDbRow>(
      sql`SELECT ${COLS} FROM ${this.t('sessions')} WHERE id = ${id}${sensor} LIMIT 1`,
    );
    return (await this.withPayloads(rows))[0];
  }
}
