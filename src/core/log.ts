// Operational log (pino). Captured events never go through it: they go to sinks. JSON lines, or on a
// terminal readable lines (log-pretty.ts): --log-format.
import { pino, type Logger } from 'pino';

import { prettyDestination } from './log-pretty.js';

export type { Logger };

export type LogFormat = 'auto' | 'pretty' | 'json';

/** auto: readable lines when both stdout and stderr (where the log goes) are terminals, else JSON lines. */
export function resolveLogFormat(format: LogFormat): 'pretty' | 'json' {
  if (format !== 'auto') return format;
  return process.stdout.isTTY && process.stderr.isTTY ? 'pretty' : 'json';
}

export function createLogger(
  level: string,
  destination: NodeJS.WritableStream | number = 2,
  format: 'pretty' | 'json' = 'json',
): Logger {
  const raw =
    typeof destination === 'number' ? pino.destination({ fd: destination, sync: true }) : destination;
  const color = destination === 2 && Boolean(process.stderr.isTTY);
  const dest = format === 'pretty' ? prettyDestination(raw, color) : raw;
  return pino({ level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, dest);
}

/** Logs at most once per interval per key: for errors that would otherwise flood (full disk, dead sink). */
export class RateLimitedLog {
  private readonly last = new Map<string, number>();
  constructor(
    private readonly log: Logger,
    private readonly intervalMs = 60_000,
  ) {}
  /** True at most once per interval per key (and then counts as logged): for lines built only when due. */
  allow(key: string): boolean {
    const now = Date.now();
    if (now - (this.last.get(key) ?? -Infinity) < this.intervalMs) return false;
    this.last.set(key, now);
    return true;
  }
  error(key: string, obj: object, msg: string): void {
    if (this.allow(key)) this.log.error(obj, msg);
  }
}
