// Session search over SQLite, newest first, paged by key: a cursor (ts, id) continues after the previous
// page, so a deep page costs what the first does (an OFFSET walks every skipped row; kept for old clients).
// A payload text search examines at most TEXT_SCAN_ROWS sessions from the cursor on: the window's oldest
// session is found on the index first, then the byte search runs inside it and stops at a page of matches.
import type { Statement } from 'better-sqlite3';

import {
  formatCursor,
  TEXT_SCAN_ROWS,
  type SessionCursor,
  type SessionPage,
  type SessionQuery,
  type SessionRow,
} from '../query.js';

/** Totals of session searches are counted up to here; beyond, `capped` is set and total is a lower bound. */
const COUNT_CAP = 100_000;
const TEXT_COUNT_CAP = 10_000;
const ORDER = 'ORDER BY s.ts DESC, s.id DESC';
const JOIN = 'FROM sessions s LEFT JOIN payloads p ON p.id = s.payload_id';

interface Filter {
  where: string[];
  args: unknown[];
}

/** The conditions of a query but its text; the cursor only when asked (totals count the whole result). */
function filterOf(q: SessionQuery, withCursor: boolean): Filter {
  const f: Filter = { where: [], args: [] };
  const add = (clause: string, ...v: unknown[]): void => {
    f.where.push(clause);
    f.args.push(...v);
  };
  if (q.from !== undefined) add('s.ts >= ?', q.from);
  if (q.to !== undefined) add('s.ts < ?', q.to);
  if (q.port !== undefined) add('s.dport = ?', q.port);
  if (q.src !== undefined) add('s.src = ?', q.src);
  if (q.proto !== undefined) add('s.proto = ?', q.proto);
  if (q.tag !== undefined) add('s.id IN (SELECT session_id FROM session_tags WHERE tag = ?)', q.tag);
  if (q.signature !== undefined) add('s.signature = ?', q.signature);
  // Spelt out rather than as a row value so the planner walks the ts index from the cursor.
  if (withCursor && q.cursor)
    add('s.ts <= ? AND (s.ts < ? OR s.id < ?)', q.cursor.ts, q.cursor.ts, q.cursor.id);
  return f;
}

const whereOf = (f: Filter, ...more: string[]): string => {
  const all = [...f.where, ...more];
  return all.length ? `WHERE ${all.join(' AND ')}` : '';
};

export class SessionSearch<Row extends { ts: number; id: number }> {
  constructor(
    private readonly st: (sql: string) => Statement,
    private readonly toSession: (r: Row) => SessionRow,
  ) {}

  search(q: SessionQuery): SessionPage {
    return q.text ? this.text(q, q.text) : this.plain(q);
  }

  private page(q: SessionQuery, sql: string, args: unknown[]): Row[] {
    return this.st(`SELECT s.*, p.data data ${JOIN} ${sql} ${ORDER} LIMIT ? OFFSET ?`).all(
      ...args,
      q.limit,
      q.offset,
    ) as Row[];
  }

  private count(sql: string, args: unknown[], cap: number): number {
    return (
      this.st(`SELECT count(*) n FROM (SELECT 1 ${sql} LIMIT ?)`).get(...args, cap + 1) as { n: number }
    ).n;
  }

  private plain(q: SessionQuery): SessionPage {
    const f = filterOf(q, true);
    const rows = this.page(q, whereOf(f), f.args);
    const all = filterOf(q, false);
    const total = this.count(`FROM sessions s ${whereOf(all)}`, all.args, COUNT_CAP);
    const page: SessionPage = { rows: rows.map(this.toSession), total: Math.min(total, COUNT_CAP) };
    if (total > COUNT_CAP) page.capped = true;
    const last = rows.at(-1);
    if (last && rows.length === q.limit) page.next = formatCursor(last);
    return page;
  }

  /** A byte search (instr() on two blobs compares bytes) inside the window of TEXT_SCAN_ROWS sessions. */
  private text(q: SessionQuery, text: string): SessionPage {
    const f = filterOf(q, true);
    // Counted on the index up to TEXT_SCAN_ROWS (count() reads one row past its cap).
    const scanned = this.count(`FROM sessions s ${whereOf(f)}`, f.args, TEXT_SCAN_ROWS - 1);
    // The window's oldest session bounds the search; it is there only when the window is full.
    const edge =
      scanned >= TEXT_SCAN_ROWS
        ? (this.st(`SELECT s.ts ts, s.id id FROM sessions s ${whereOf(f)} ${ORDER} LIMIT 1 OFFSET ?`).get(
            ...f.args,
            TEXT_SCAN_ROWS - 1,
          ) as SessionCursor)
        : undefined;
    const inWindow = edge ? ['s.ts >= ? AND (s.ts > ? OR s.id >= ?)'] : [];
    const cond = [...inWindow, 'instr(p.data, ?) > 0'];
    const args = [...f.args, ...(edge ? [edge.ts, edge.ts, edge.id] : []), Buffer.from(text, 'utf8')];
    const rows = this.page(q, whereOf(f, ...cond), args);
    // A short page is the whole rest of the window; a full one needs the window's matches counted.
    const total =
      rows.length < q.limit && (rows.length > 0 || q.offset === 0)
        ? q.offset + rows.length
        : this.count(`${JOIN} ${whereOf(f, ...cond)}`, args, TEXT_COUNT_CAP);
    const page: SessionPage = {
      rows: rows.map(this.toSession),
      total: Math.min(total, TEXT_COUNT_CAP),
      scanned: Math.min(scanned, TEXT_SCAN_ROWS),
      scan_limit: TEXT_SCAN_ROWS,
    };
    if (total > TEXT_COUNT_CAP) page.capped = true;
    const last = rows.at(-1);
    // Past the last match of a full page, or past the window when it held fewer: the search goes on there.
    if (last && rows.length === q.limit) page.next = formatCursor(last);
    else if (edge) page.next = formatCursor(edge);
    return page;
  }
}
