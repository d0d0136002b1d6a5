// Shipped rows on their way to ClickHouse: a chunk is the TabSeparated rows of one table and one UTC day
// under one batch id (the retry key, sender.ts), at most about MAX_CHUNK_BYTES, sent as one INSERT. In the
// spool a chunk is one line: a JSON header (table, day, batch, rows, columns), then the rows, each ended by
// its batch id, with 0x1E between rows instead of a newline (tsv.ts escapes every control byte inside a
// field, so neither can occur there). Sending turns the separators back into newlines: the rows are
// serialized once, when they are folded, and never parsed again on this side.
import { isIdent } from '../../store/clickhouse/sql.js';

export type TableName =
  | 'sessions'
  | 'payloads'
  | 'counter_rows'
  | 'daily'
  | 'source_tags'
  | 'scans'
  | 'spikes'
  | 'blocks'
  | 'events'
  | 'heartbeats'
  | 'iocs';

/** The columns of each table in the order its rows are written (`batch` last, added per chunk). */
export const COLUMNS: Record<TableName, readonly string[]> = {
  counter_rows: ['sensor', 'day', 'minute', 'proto', 'port', 'all_n', 'new_n', 'sess_n', 'batch'],
  daily: [
    'sensor',
    'day',
    'proto',
    'dst_port',
    'dst_ip',
    'src_ip',
    'first_seen',
    'last_seen',
    'count',
    'cc',
    'asn',
    'org',
    'batch',
  ],
  payloads: ['day', 'hash', 'data', 'size', 'sensor', 'batch'],
  sessions: [
    'sensor',
    'day',
    'id',
    'ts',
    'ended',
    'proto',
    'src',
    'sport',
    'dst',
    'dport',
    'bytes',
    'truncated',
    'close',
    'payload',
    'tls',
    'tags',
    'cc',
    'asn',
    'org',
    'extra',
    'persona',
    'respond',
    'app',
    'signature',
    'intel',
    'tag_names',
    'batch',
  ],
  source_tags: ['sensor', 'day', 'src', 'name', 'confidence', 'batch'],
  scans: ['sensor', 'day', 'id', 'src', 'state', 'first_ms', 'last_ms', 'ev', 'batch'],
  spikes: ['sensor', 'day', 'ts', 'proto', 'dport', 'interval_s', 'ev', 'batch'],
  blocks: ['sensor', 'day', 'ts', 'src', 'action', 'until', 'reason', 'batch'],
  events: ['sensor', 'day', 'ts', 'type', 'ev', 'batch'],
  iocs: ['sensor', 'day', 'ts', 'kind', 'value', 'src', 'batch'],
  heartbeats: ['sensor', 'day', 'ts', 'batch'],
};
/** Send order: payloads before the sessions that name them, counters first. */
const TABLES = Object.keys(COLUMNS) as TableName[];

/** Serialized characters per chunk at most (about bytes: rows are mostly ASCII). */
export const MAX_CHUNK_BYTES = 4 << 20;
const RS = '\x1e';
const RS_BYTE = 0x1e;
const DAY = /^\d{4}-\d{2}-\d{2}$/;

export interface Chunk {
  sensor: string;
  table: TableName;
  day: string;
  batch: number;
  rows: number;
  /** The rows, each ended by its batch id, joined by RS. */
  body: string;
}

/** A chunk read back from the spool: its header, and its rows as TabSeparated bytes ready to insert. */
export interface SpooledChunk {
  /** The sensor (--sensor) that shipped it: batch ids are unique per sensor. */
  sensor: string;
  table: TableName;
  day: string;
  batch: number;
  rows: number;
  columns: string[];
  data: Buffer;
}

/** Batch ids: ms since the epoch × 1000 + a sequence, increasing across restarts, safe as JS numbers. */
export class BatchIds {
  private last = 0;
  next(now = Date.now()): number {
    this.last = Math.max(this.last + 1, now * 1000);
    return this.last;
  }
}

interface Open {
  table: TableName;
  day: string;
  batch: number;
  chars: number;
  lines: string[];
}

/** Collects rows (without their batch column) into chunks by table and day. */
export class Chunker {
  private open = new Map<string, Open>();
  private full: Open[] = [];

  constructor(
    private readonly ids: BatchIds,
    private readonly sensor: string,
  ) {}

  add(table: TableName, day: string, line: string): void {
    const key = `${table}|${day}`;
    let c = this.open.get(key);
    if (!c || c.chars + line.length > MAX_CHUNK_BYTES) {
      if (c) this.full.push(c);
      c = { table, day, batch: this.ids.next(), chars: 0, lines: [] };
      this.open.set(key, c);
    }
    c.lines.push(line);
    c.chars += line.length + 20;
  }

  /** Every chunk collected, in send order, and a fresh start. */
  take(): Chunk[] {
    const all = [...this.full, ...this.open.values()];
    this.full = [];
    this.open = new Map();
    all.sort((a, b) => TABLES.indexOf(a.table) - TABLES.indexOf(b.table));
    return all.map(({ table, day, batch, lines }) => ({
      sensor: this.sensor,
      table,
      day,
      batch,
      rows: lines.length,
      body: lines.join(`\t${batch}${RS}`) + `\t${batch}`,
    }));
  }
}

/** The chunk as one spool line (without its newline). */
export function encodeChunk(c: Chunk): string {
  const { sensor, table, day, batch, rows } = c;
  return JSON.stringify({ sensor, table, day, batch, rows, columns: COLUMNS[table] }) + RS + c.body;
}

function validHeader(h: Partial<SpooledChunk>): h is Omit<SpooledChunk, 'data'> {
  return (
    typeof h.sensor === 'string' &&
    typeof h.table === 'string' &&
    TABLES.includes(h.table) &&
    typeof h.day === 'string' &&
    DAY.test(h.day) &&
    Number.isSafeInteger(h.batch) &&
    Number.isSafeInteger(h.rows) &&
    Array.isArray(h.columns) &&
    h.columns.length > 0 &&
    h.columns.every((c) => typeof c === 'string' && isIdent(c))
  );
}

/**
 * A spool line back as a chunk, its separators turned into newlines; undefined for a line that is not a
 * chunk (a damaged spool).
 */
export function decodeChunk(line: Buffer): SpooledChunk | undefined {
  const sep = line.indexOf(RS_BYTE);
  if (sep < 0) return undefined;
  let head: Partial<SpooledChunk>;
  try {
    head = JSON.parse(line.toString('utf8', 0, sep)) as Partial<SpooledChunk>;
  } catch {
    return undefined;
  }
  if (!validHeader(head)) return undefined;
  let end = line.length;
  while (end > sep + 1 && line[end - 1] === 0x0a) end--;
  const data = Buffer.allocUnsafe(end - sep);
  line.copy(data, 0, sep + 1, end);
  data[data.length - 1] = 0x0a;
  for (let p = data.indexOf(RS_BYTE); p >= 0; p = data.indexOf(RS_BYTE, p + 1)) data[p] = 0x0a;
  const { sensor, table, day, batch, rows, columns } = head;
  return { sensor, table, day, batch, rows, columns, data };
}
