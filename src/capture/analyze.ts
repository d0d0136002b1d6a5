// `tidewatch analyze FILE [--json] [--filter BPF] [--max-sources N]`: the capture counters of a pcap or
// pcapng file, offline, through the same addon, decoders and counters as live capture.
import { statSync } from 'node:fs';
import { isTidewatchError } from '../core/errors.js';
import { DailyQueue } from '../daily/queue.js';
import { DailyTable, type RowVisitor } from '../daily/table.js';
import { type AnalyzeReport, topSourcesOf } from './analyze-report.js';
import { PacketCounters } from './counters.js';
import { pcapFileProblem } from './addon.js';
import { readFileBatches } from './source.js';
import { formatSummary } from './summary.js';
import { ProgressBar } from './progress.js';

export interface AnalyzeOptions {
  file: string;
  json: boolean;
  filter: string;
  maxSources: number;
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
  const queue = new DailyQueue(daily);
  const counters = new PacketCounters({ excludePrivate: false, onlyDst: [], daily: queue });
  counters.setOwnAddresses([]);
  const res = await readFileBatches(
    opts.file,
    opts.filter,
    (buf, count, linktype) => counters.addBatch(buf, count, linktype),
    onProgress,
  );
  queue.flush();
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
  const write = async (s: string | Buffer): Promise<void> => {
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
 * The `daily` array's items as JSON.stringify(row) would write them, joined by commas, as UTF-8 bytes,
 * built by hand (several times faster on millions of rows): consecutive rows mostly share day, protocol,
 * destination and source (rows come grouped by source, then destination), so that text is encoded once
 * and copied, and the numbers are written digit by digit. Strings that would need escaping go through
 * JSON.stringify. take() returns the bytes added since the last take().
 */
export function rowJsonWriter(): { onRow: RowVisitor; take(): Buffer } {
  let buf: Buffer = Buffer.allocUnsafe(1 << 20);
  let pos = 0;
  let first = true;
  let pre: Buffer = Buffer.alloc(0);
  const pres = new Map<string, Map<string, Buffer>>();
  let mid: Buffer = Buffer.alloc(0);
  let lastDay: string | undefined;
  let lastProto: string | undefined;
  let lastDst: string | undefined;
  let lastSrc: string | undefined;
  const LAST = Buffer.from(',"last_seen":');
  const COUNT = Buffer.from(',"count":');
  const NULL = Buffer.from('null');
  const room = (n: number): void => {
    if (pos + n <= buf.length) return;
    const b = Buffer.allocUnsafe(Math.max(buf.length * 2, pos + n));
    buf.copy(b, 0, 0, pos);
    buf = b;
  };
  const bytes = (b: Buffer): void => {
    room(b.length);
    buf.set(b, pos);
    pos += b.length;
  };
  /** A non-negative integer in decimal; anything else (never produced by the table) as JSON would. */
  const num = (n: number): void => {
    if (!(Number.isSafeInteger(n) && n >= 0)) return bytes(Buffer.from(JSON.stringify(n)));
    room(16);
    if (n <= 0x7fffffff) {
      // int32 arithmetic (division by 10 becomes a multiply): the common case, unix seconds and ports.
      let digits = 1;
      for (let t = n; t >= 10; t = (t / 10) | 0) digits++;
      let at = pos + digits;
      pos = at;
      let v = n | 0;
      do {
        const q = (v / 10) | 0;
        buf[--at] = 48 + (v - q * 10);
        v = q;
      } while (v > 0);
      return;
    }
    let digits = 1;
    for (let t = n; t >= 10; t = Math.floor(t / 10)) digits++;
    let at = pos + digits;
    pos = at;
    do {
      const q = Math.floor(n / 10);
      buf[--at] = 48 + (n - q * 10);
      n = q;
    } while (n > 0);
  };
  const onRow: RowVisitor = (day, proto, port, dst, src, firstSeen, lastSeen, count) => {
    if (day !== lastDay || proto !== lastProto) {
      // TCP and UDP rows alternate within a source: the prefix of each (day, protocol) is kept.
      let byProto = pres.get(day);
      if (!byProto) pres.set(day, (byProto = new Map()));
      let p = byProto.get(proto);
      if (!p) byProto.set(proto, (p = Buffer.from(`{"day":${str(day)},"proto":${str(proto)},"dst_port":`)));
      pre = p;
      lastDay = day;
      lastProto = proto;
    }
    if (dst !== lastDst || src !== lastSrc) {
      mid = Buffer.from(`,"dst_ip":${str(dst)},"src_ip":${str(src)},"first_seen":`);
      lastDst = dst;
      lastSrc = src;
    }
    room(1);
    if (!first) buf[pos++] = 44; // ,
    first = false;
    bytes(pre);
    if (port === null) bytes(NULL);
    else num(port);
    bytes(mid);
    num(firstSeen);
    bytes(LAST);
    num(lastSeen);
    bytes(COUNT);
    num(count);
    room(1);
    buf[pos++] = 125; // }
  };
  const take = (): Buffer => {
    // The stream may still hold the bytes after write() returns: the next rows go to a fresh buffer.
    const out = buf.subarray(0, pos);
    buf = Buffer.allocUnsafe(buf.length);
    pos = 0;
    return out;
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
      const problem = pcapFileProblem(err);
      if (problem === 'notCapture') return fail(opts.file, `not a pcap or pcapng file (${m})`);
      if (problem === 'headerCut')
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
