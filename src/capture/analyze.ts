// `tidewatch analyze FILE [--json] [--filter BPF] [--max-sources N]`: the capture counters of a pcap or
// pcapng file, offline, through the same addon, decoders and counters as live capture.
import { statSync } from 'node:fs';
import { isTidewatchError } from '../core/errors.js';
import { DailyTable, type RowVisitor } from '../store/daily-csv.js';
import { PacketCounters } from './counters.js';
import { readFileBatches } from './source.js';
import { formatSummary } from './summary.js';
import { ProgressBar } from './progress.js';

export interface AnalyzeOptions {
  file: string;
  json: boolean;
  filter: string;
  maxSources: number;
}

/** The --json document (docs/capture.md lists every field). */
export interface AnalyzeReport {
  packets: number;
  malformed: number;
  tcp: { all: Record<string, number>; syn: Record<string, number> };
  udp: Record<string, number>;
  ip_protocols: Record<string, number>;
  ethertypes: Record<string, number>;
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

export interface DailyRow {
  /** UTC day of the row (the CSV file it belongs to). */
  day: string;
  proto: string;
  dst_port: number | null;
  dst_ip: string;
  src_ip: string;
  first_seen: number;
  last_seen: number;
  count: number;
}

/** Files above this size get a progress bar (when stderr is a terminal). */
const PROGRESS_MIN_BYTES = 32 << 20;

function fail(file: string, message: string): number {
  process.stderr.write(`tidewatch: ${file}: ${message.replace(/\s+/g, ' ').trim()}\n`);
  return 1;
}

/** Checks the file before libpcap sees it, so the common mistakes get plain words. */
function precheck(file: string): string | undefined {
  let size: number;
  try {
    const st = statSync(file);
    if (st.isDirectory()) return 'is a directory, not a capture file';
    size = st.size;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'no such file';
    if (code === 'EACCES') return 'permission denied';
    return (err as Error).message;
  }
  if (size === 0) return 'empty file: not a pcap or pcapng capture';
  return undefined;
}

export async function analyzeFile(
  opts: AnalyzeOptions,
  onProgress?: (bytes: number) => void,
): Promise<AnalyzeReport> {
  const daily = new DailyTable({ maxSources: opts.maxSources });
  // The table takes attempts straight from the decoder: no probe event per packet (nothing else listens).
  const counters = new PacketCounters({ excludePrivate: false, onlyDst: [], daily });
  counters.setOwnAddresses([]);
  const res = await readFileBatches(
    opts.file,
    opts.filter,
    (buf, count, linktype) => counters.addBatch(buf, count, linktype),
    onProgress,
  );
  const snap = counters.snapshot();
  const report: AnalyzeReport = {
    packets: snap.packets,
    malformed: snap.malformed,
    tcp: { all: snap.tcp.all, syn: snap.tcp.syn },
    udp: snap.udp,
    ip_protocols: snap.ip_protocols,
    ethertypes: snap.ethertypes,
    sources: daily.sourcesCount(),
    evicted_sources: daily.evicted,
    table: daily,
    topSources: {},
  };
  if (res.truncated) {
    report.truncated = true;
    report.error = res.error ?? 'truncated';
  }
  return report;
}

/**
 * Writes the --json document with `daily` streamed in pieces: millions of rows in one JSON.stringify would
 * build a string past V8's limit (~512 MiB) and hold it all in memory at once.
 */
async function writeJson(report: AnalyzeReport): Promise<void> {
  const { topSources: _omit, table, ...head } = report;
  const out = process.stdout;
  const write = async (s: string): Promise<void> => {
    if (!out.write(s)) await new Promise<void>((r) => out.once('drain', () => r()));
  };
  await write(JSON.stringify(head).slice(0, -1) + ',"daily":[');
  const rows = rowJsonWriter();
  for (const _ of table.visit(rows.onRow)) await write(rows.take());
  await write(rows.take());
  await write(']}\n');
}

/** Text that JSON.stringify would write between quotes unchanged (addresses, days, protocol names). */
const PLAIN = /^[\w.:%-]*$/;
const str = (s: string): string => (PLAIN.test(s) ? `"${s}"` : JSON.stringify(s));

/**
 * The `daily` array's items as JSON.stringify(row) would write them, joined by commas, built by hand
 * (several times faster on millions of rows): consecutive rows mostly share day, protocol, destination
 * and source (rows come grouped by source, then destination), so that text is built once and reused and
 * only the numbers are formatted per row. Strings that would need escaping go through JSON.stringify.
 * take() returns what was added since the last take().
 */
export function rowJsonWriter(): { onRow: RowVisitor; take(): string } {
  let piece = '';
  let sep = '';
  let pre = '';
  let mid = '';
  let lastDay: string | undefined;
  let lastProto: string | undefined;
  let lastDst: string | undefined;
  let lastSrc: string | undefined;
  const onRow: RowVisitor = (day, proto, port, dst, src, first, last, count) => {
    if (day !== lastDay || proto !== lastProto) {
      pre = `{"day":${str(day)},"proto":${str(proto)},"dst_port":`;
      lastDay = day;
      lastProto = proto;
    }
    if (dst !== lastDst || src !== lastSrc) {
      mid = `,"dst_ip":${str(dst)},"src_ip":${str(src)},"first_seen":`;
      lastDst = dst;
      lastSrc = src;
    }
    piece +=
      sep +
      pre +
      (port === null ? 'null' : port) +
      mid +
      first +
      ',"last_seen":' +
      last +
      ',"count":' +
      count +
      '}';
    sep = ',';
  };
  const take = (): string => {
    const p = piece;
    piece = '';
    return p;
  };
  return { onRow, take };
}

/** Returns the process exit code. Writes results to stdout, errors as one line to stderr. */
export async function runAnalyze(opts: AnalyzeOptions): Promise<number> {
  const problem = precheck(opts.file);
  if (problem) return fail(opts.file, problem);
  const size = statSync(opts.file).size;
  const bar = process.stderr.isTTY && size >= PROGRESS_MIN_BYTES ? new ProgressBar(size) : undefined;
  let report: AnalyzeReport;
  try {
    report = await analyzeFile(opts, bar && ((b) => bar.update(b)));
  } catch (err) {
    bar?.done();
    if (isTidewatchError(err)) {
      const m = err.message;
      if (err.code === 'TW_ERR_PCAP_FILE' && /unknown file format|bad dump file format/i.test(m))
        return fail(opts.file, `not a pcap or pcapng file (${m})`);
      if (err.code === 'TW_ERR_PCAP_FILE' && /truncated dump file/i.test(m))
        return fail(opts.file, `not a complete pcap or pcapng file: the file header is cut (${m})`);
      return fail(opts.file, m);
    }
    throw err;
  }
  bar?.done();
  // `analyze ... | head` closes the pipe early: that is not an error worth a stack trace.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  });
  if (opts.json) {
    await writeJson(report);
  } else {
    report.topSources = topSourcesOf(report.table);
    process.stdout.write(formatSummary(opts.file, report));
  }
  if (report.truncated)
    process.stderr.write(
      `tidewatch: ${opts.file}: truncated: counted the ${report.packets} packets before the cut\n`,
    );
  return 0;
}
