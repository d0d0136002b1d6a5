// Test oracle for src/daily/table.ts, written from the daily table's specification (docs/counters.md),
// not from its code: sources in an array kept in recency order, rows as plain objects found by linear
// search. Slow on purpose: nothing here (typed arrays, packed keys, hash chains) can share a bug with
// the table it checks.
//
// The specification it models:
// - a row is (UTC day, proto, dst_port, dst_ip, src_ip) with first_seen/last_seen (unix seconds, merged as
//   min/max) and a count (summed);
// - at most maxSources sources: a new source first evicts one; at most maxRows rows in all: a new row
//   evicts sources until the total fits (while more than one source is held); one source alone holding
//   maxRows rows refuses further new rows (droppedRows);
// - eviction is second chance (CLOCK): walking from the oldest end, a source seen again since it was last
//   passed loses its mark and moves to the recent end; the first unmarked source is evicted;
// - rows() lists sources oldest first; a source's rows come grouped by destination (in the order of the
//   source's oldest row to each), oldest row first within a group;
// - sourcesCount() counts held sources that ever made a TCP attempt, whether or not its row was kept.
import { writeFileSync } from 'node:fs';
import type { DailyRow as ModelRow } from '../../src/daily/keys.js';

interface ModelSource {
  src: string;
  marked: boolean;
  tcp: boolean;
  rows: ModelRow[];
}

const dayOf = (unixSec: number): string =>
  new Date(Math.floor(unixSec / 86400) * 86400_000).toISOString().slice(0, 10);

export class DailyTableModel {
  private sources: ModelSource[] = [];
  private readonly maxSources: number;
  private readonly maxRows: number;
  evicted = 0;
  droppedRows = 0;

  constructor(opts: { maxSources: number; maxRows?: number; onEvict?: () => void }) {
    this.maxSources = Math.max(1, Math.floor(opts.maxSources));
    this.maxRows = Math.max(1, Math.floor(opts.maxRows ?? this.maxSources * 4));
    this.onEvict = opts.onEvict ?? ((): void => undefined);
  }

  private readonly onEvict: () => void;

  addRow(
    proto: string,
    dstPort: number | null,
    dst: string,
    src: string,
    first: number,
    last = first,
    count = 1,
  ): boolean {
    let s = this.sources.find((x) => x.src === src);
    if (s) s.marked = true;
    else {
      if (this.sources.length >= this.maxSources) this.evictOne();
      s = { src, marked: false, tcp: false, rows: [] };
      this.sources.push(s);
    }
    if (proto === 'TCP') s.tcp = true;
    const day = dayOf(first);
    const row = s.rows.find(
      (r) => r.day === day && r.proto === proto && r.dst_port === dstPort && r.dst_ip === dst,
    );
    if (row) {
      row.first_seen = Math.min(row.first_seen, first);
      row.last_seen = Math.max(row.last_seen, last);
      row.count += count;
      return true;
    }
    if (s.rows.length >= this.maxRows) {
      this.droppedRows++;
      return false;
    }
    s.rows.push({
      day,
      proto,
      dst_port: dstPort,
      dst_ip: dst,
      src_ip: src,
      first_seen: first,
      last_seen: last,
      count,
    });
    while (this.rowTotal() > this.maxRows && this.sources.length > 1) this.evictOne();
    return true;
  }

  private evictOne(): void {
    for (;;) {
      const oldest = this.sources.shift();
      if (!oldest) return;
      if (!oldest.marked) break;
      oldest.marked = false;
      this.sources.push(oldest);
    }
    this.evicted++;
    this.onEvict();
  }

  private rowTotal(): number {
    return this.sources.reduce((n, s) => n + s.rows.length, 0);
  }

  get size(): { sources: number; rows: number } {
    return { sources: this.sources.length, rows: this.rowTotal() };
  }

  sourcesCount(): number {
    return this.sources.filter((s) => s.tcp).length;
  }

  rows(day?: string): ModelRow[] {
    const out: ModelRow[] = [];
    for (const s of this.sources) {
      const dsts = [...new Set(s.rows.map((r) => r.dst_ip))];
      for (const d of dsts)
        for (const r of s.rows)
          if (r.dst_ip === d && (day === undefined || r.day === day)) out.push({ ...r });
    }
    return out;
  }

  days(): string[] {
    return [...new Set(this.sources.flatMap((s) => s.rows.map((r) => r.day)))].sort();
  }

  dropDaysBefore(day: string): void {
    for (const s of this.sources) s.rows = s.rows.filter((r) => r.day >= day);
    this.sources = this.sources.filter((s) => s.rows.length > 0);
  }

  /** The day's (or every day's) rows in Tsusen's space-separated CSV, header first. */
  write(file: string, day?: string): void {
    const lines = this.rows(day).map(
      (r) =>
        `${r.proto} ${r.dst_port === null ? '-' : r.dst_port} ${r.dst_ip} ${r.src_ip} ${r.first_seen} ${r.last_seen} ${r.count}\n`,
    );
    writeFileSync(file, ['proto dst_port dst_ip src_ip first_seen last_seen count\n', ...lines].join(''));
  }
}
