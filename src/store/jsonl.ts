// JSON-lines writer shared by every file sink: file names from a strftime pattern (UTC) under the data dir,
// a new file at each new name, reopen on SIGHUP (logrotate), directories created as needed.
// Records are queued and written in batches with async fs calls, so a busy sensor never blocks its event
// loop on the disk. A full or unwritable disk never stops the sensor: the records that could not be written
// are counted (<name>_not_written_total), a clear error is logged at most once a minute, and writing resumes
// by itself once the disk takes data again. A batch that failed half-way is cut back so no partial line stays,
// and a torn last line left by a killed process is cut back when the file is opened again (counted in
// <name>_torn_lines_total).
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { SensorContext } from '../core/context.js';
import { RateLimitedLog } from '../core/log.js';
import { cutTornLine } from '../core/torn-line.js';
import { strftime } from './strftime.js';

export interface JsonlOptions {
  /** strftime pattern (UTC), relative to cfg.dataDir (an absolute pattern is used as is). */
  pattern: string;
  /** Counter prefix and log label: sessions → sessions_written_total, sessions_not_written_total. */
  name: string;
  /** Cap on queued bytes while the disk is slow or failing (default 16 MiB); beyond it records are counted and dropped. */
  maxPendingBytes?: number;
  /** Wait after a failed write before the next attempt (default 1 s): no busy loop on a full disk. */
  retryDelayMs?: number;
  /** Told the bytes each batch added to a file (the data dir's quota tracks sizes as written). */
  onWrite?: (path: string, bytes: number) => void;
}

/** A batch is written after BATCH_MS or once BATCH_BYTES are queued, whichever comes first. */
const BATCH_MS = 20;
const BATCH_BYTES = 64 * 1024;

interface Group {
  path: string;
  lines: string[];
  bytes: number;
}

export class JsonlWriter {
  private readonly log: RateLimitedLog;
  private readonly pending: Group[] = [];
  private pendingBytes = 0;
  private readonly maxPendingBytes: number;
  private readonly retryDelayMs: number;
  private fh: FileHandle | undefined;
  private fhPath = '';
  /** Size of the open file after the last complete batch: a failed batch is truncated back to it. */
  private size = 0;
  private needNewline = false;
  private reopenWanted = false;
  private failing = false;
  private retryAt = 0;
  private draining: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private closed = false;
  private cacheSec = -1;
  private cachePath = '';

  constructor(
    private readonly ctx: SensorContext,
    private readonly opts: JsonlOptions,
  ) {
    this.log = new RateLimitedLog(ctx.log);
    this.maxPendingBytes = opts.maxPendingBytes ?? 16 * 1024 * 1024;
    this.retryDelayMs = opts.retryDelayMs ?? 1000;
  }

  /** The file a record written at `ms` goes to. */
  pathAt(ms: number): string {
    const sec = Math.floor(ms / 1000);
    if (sec !== this.cacheSec) {
      this.cacheSec = sec;
      this.cachePath = resolve(this.ctx.cfg.dataDir, strftime(this.opts.pattern, ms));
    }
    return this.cachePath;
  }

  /** Queues one record. Never throws; a record that cannot be queued or written is counted. */
  write(record: object): void {
    try {
      if (this.closed) return this.dropped(1, 'writer closed');
      const line = JSON.stringify(record) + '\n';
      if (this.pendingBytes + line.length > this.maxPendingBytes)
        return this.dropped(1, `write queue over ${this.maxPendingBytes} bytes`);
      const path = this.pathAt(Date.now());
      let g = this.pending[this.pending.length - 1];
      if (!g || g.path !== path) this.pending.push((g = { path, lines: [], bytes: 0 }));
      g.lines.push(line);
      g.bytes += line.length;
      this.pendingBytes += line.length;
      if (this.timer && this.retryAt <= Date.now() && this.pendingBytes >= BATCH_BYTES) {
        clearTimeout(this.timer);
        this.timer = undefined;
      }
      this.schedule();
    } catch (err) {
      this.dropped(1, 'record not serialisable', err);
    }
  }

  /** Closes the current file after the writes under way; the next record opens the name afresh (SIGHUP). */
  reopen(): void {
    this.reopenWanted = true;
    if (!this.draining && this.pending.length === 0) void this.closeHandle();
  }

  /** Writes everything queued, then closes the file. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = this.immediate = undefined;
    while (this.draining || this.pending.length) {
      if (this.draining) await this.draining;
      else await (this.draining = this.drain().finally(() => (this.draining = undefined)));
    }
    await this.closeHandle();
  }

  private schedule(): void {
    if (this.draining || this.immediate || this.timer || this.closed) return;
    const wait = this.retryAt - Date.now();
    const run = () => {
      this.timer = this.immediate = undefined;
      this.draining = this.drain().finally(() => {
        this.draining = undefined;
        if (this.pending.length) this.schedule();
      });
    };
    // Batches form for a few ms (or until 64 KiB are queued): one write call for many records. After a
    // failure, wait before trying the disk again.
    if (wait > 0) this.timer = setTimeout(run, wait).unref();
    else if (this.pendingBytes >= BATCH_BYTES) this.immediate = setImmediate(run);
    else this.timer = setTimeout(run, BATCH_MS).unref();
  }

  private async drain(): Promise<void> {
    while (this.pending.length) {
      if (!this.closed && Date.now() < this.retryAt) return;
      const g = this.pending.shift()!;
      this.pendingBytes -= g.bytes;
      await this.writeGroup(g);
    }
  }

  private async writeGroup(g: Group): Promise<void> {
    const n = g.lines.length;
    try {
      if (!this.fh || this.fhPath !== g.path || this.reopenWanted) {
        await this.closeHandle();
        this.reopenWanted = false;
        await mkdir(dirname(g.path), { recursive: true });
        this.fh = await open(g.path, 'a+');
        this.fhPath = g.path;
        this.size = (await this.fh.stat()).size;
        const torn = await cutTornLine(this.fh, this.size);
        if (torn > 0) {
          this.size -= torn;
          this.ctx.stats.inc(`${this.opts.name}_torn_lines_total`);
          this.ctx.log.warn({ file: g.path, bytes: torn }, 'torn last line cut back');
        }
      }
      const buf = Buffer.from((this.needNewline ? '\n' : '') + g.lines.join(''));
      for (let off = 0; off < buf.length;) {
        const { bytesWritten } = await this.fh.write(buf, off, buf.length - off);
        off += bytesWritten;
      }
      this.size += buf.length;
      this.opts.onWrite?.(g.path, buf.length);
      this.needNewline = false;
      this.ctx.stats.inc(`${this.opts.name}_written_total`, n);
      if (this.failing) {
        this.failing = false;
        this.ctx.log.info({ file: g.path, output: this.opts.name }, 'writing again');
      }
    } catch (err) {
      this.failing = true;
      this.retryAt = Date.now() + this.retryDelayMs;
      this.dropped(n, `cannot write ${g.path}`, err);
      if (this.fh) {
        // Cut a half-written batch back so the file holds only whole lines; if even that fails, start
        // the next batch on a new line so the damage stays one bad line.
        try {
          await this.fh.truncate(this.size);
        } catch {
          this.needNewline = true;
        }
      }
      await this.closeHandle();
    }
  }

  private dropped(n: number, why: string, err?: unknown): void {
    this.ctx.stats.inc(`${this.opts.name}_not_written_total`, n);
    const code = (err as NodeJS.ErrnoException | undefined)?.code;
    this.log.error(
      `${this.opts.name}:${code ?? why}`,
      { output: this.opts.name, code, err: err instanceof Error ? err.message : undefined },
      `${this.opts.name}: records not written (${why}${code ? `: ${code}` : ''}); they are counted in ` +
        `${this.opts.name}_not_written_total and writing resumes when the disk takes data again`,
    );
  }

  private async closeHandle(): Promise<void> {
    const fh = this.fh;
    this.fh = undefined;
    this.fhPath = '';
    if (fh) await fh.close().catch(() => {});
  }
}
