// What `tidewatch analyze` finds in a file: the --json document (analyze.ts writes it) and the rows the text
// summary (summary.ts) ranks. Its own module so that the two read one shape without importing each other.
import type { PacketCounts } from '../core/events.js';
import type { DailyTable } from '../daily/table.js';

/** The --json document (docs/capture.md lists every field). */
export interface AnalyzeReport extends PacketCounts {
  /** Distinct addresses that made a TCP connection attempt. */
  sources: number;
  /** Sources dropped from the daily rows to stay within --max-sources (least recently seen first). */
  evicted_sources: number;
  /** The per-source rows; printed as `daily` (DailyRow objects are made a chunk at a time, not all at once). */
  table: DailyTable;
  truncated?: boolean;
  error?: string;
  /** Only for the text summary: rows summed per source (not printed by --json; filled by topSourcesOf). */
  topSources: Record<string, number>;
}

/** Rows summed per source, for the text summary. */
export function topSourcesOf(table: DailyTable): Record<string, number> {
  const top: Record<string, number> = {};
  for (const chunk of table.chunks()) for (const r of chunk) top[r.src_ip] = (top[r.src_ip] ?? 0) + r.count;
  return top;
}
