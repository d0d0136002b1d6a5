// Writes TachyonNet's raw per-connection files (--raw-files): raw/YYYYMMDD/proto_srcip_sport__dstip_dport.log
// holding the first bytes of the session, appended when the same flow comes again that day (as TachyonNet),
// with the real destination address. No attacker byte reaches a path: addresses must parse as IP addresses
// and are then rebuilt from a strict character set (IPv6 colons become '-'), ports must be integers.
import { appendFile, mkdir } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import type { SensorContext } from '../core/context.js';
import type { SessionEvent } from '../core/events.js';
import { component } from '../core/lifecycle.js';
import { RateLimitedLog } from '../core/log.js';
import { FilePart, retainMs } from './file-part.js';
import type { FileSinkComponent } from './sessions-sink.js';

/** Queue cap while the disk is slow: beyond it raw files are counted in raw_not_written_total. */
const MAX_PENDING_BYTES = 16 * 1024 * 1024;
/**
 * What one queued entry costs beside its payload (object, Buffer header, path string): a flood of tiny
 * payloads is bounded by the same cap as a flood of big ones.
 */
export const ENTRY_OVERHEAD_BYTES = 256;
const PROTOS = new Set(['tcp', 'tls', 'udp']);

/** File-name form of an address, or undefined when it is not an IP address. */
export function safeAddress(a: unknown): string | undefined {
  if (typeof a !== 'string' || a.length > 64) return undefined;
  const zone = a.indexOf('%');
  const ip = zone >= 0 ? a.slice(0, zone) : a;
  const v = isIP(ip);
  if (v === 4) return /^[0-9.]+$/.test(ip) ? ip : undefined;
  if (v === 6) return /^[0-9a-fA-F:.]+$/.test(ip) ? ip.toLowerCase().replace(/:/g, '-') : undefined;
  return undefined;
}

const safePort = (p: unknown) =>
  Number.isInteger(p) && (p as number) >= 0 && (p as number) <= 65535 ? String(p) : undefined;

/** raw/YYYYMMDD/proto_src_sport__dst_dport.log relative to the data dir, or undefined for unsafe input. */
export function rawFileName(
  ev: Pick<SessionEvent, 'proto' | 'src' | 'sport' | 'dst' | 'dport' | 'started'>,
): string | undefined {
  const src = safeAddress(ev.src);
  const dst = safeAddress(ev.dst);
  const sport = safePort(ev.sport);
  const dport = safePort(ev.dport);
  if (!src || !dst || !sport || !dport || !PROTOS.has(ev.proto)) return undefined;
  const t = new Date(ev.started);
  if (Number.isNaN(t.getTime())) return undefined;
  const day = t.toISOString().slice(0, 10).replace(/-/g, '');
  return join('raw', day, `${ev.proto}_${src}_${sport}__${dst}_${dport}.log`);
}

function countFailed(ctx: SensorContext, rlog: RateLimitedLog, n: number, why: string, err?: unknown): void {
  ctx.stats.inc('raw_not_written_total', n);
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  rlog.error(
    `raw:${code ?? why}`,
    { code },
    `raw files not written (${why}${code ? `: ${code}` : ''}); counted in raw_not_written_total`,
  );
}

/** Queue bytes one entry holds: payload, path and the fixed overhead. */
export const entryBytes = (path: string, data: Buffer): number =>
  data.length + 2 * path.length + ENTRY_OVERHEAD_BYTES;

export async function startRawFiles(ctx: SensorContext): Promise<FileSinkComponent> {
  const rlog = new RateLimitedLog(ctx.log);
  const dirs = new Set<string>();
  // A day directory is one unit of the quota: removed whole, oldest day first.
  const disk = new FilePart({
    ...{ name: 'raw', tier: 'data', retainMs: retainMs(ctx.cfg, 'data'), dirUnits: true },
    ...{ root: join(ctx.cfg.dataDir, 'raw'), onRemoved: () => dirs.clear() },
  });
  const queue: { path: string; data: Buffer }[] = [];
  let pending = 0;
  let running: Promise<void> | undefined;
  const fail = (n: number, why: string, err?: unknown): void => countFailed(ctx, rlog, n, why, err);

  const drain = async () => {
    while (queue.length) {
      const { path, data } = queue.shift()!;
      pending -= entryBytes(path, data);
      const full = join(ctx.cfg.dataDir, path);
      try {
        const dir = join(full, '..');
        if (!dirs.has(dir)) {
          await mkdir(dir, { recursive: true });
          if (dirs.size > 64) dirs.clear();
          dirs.add(dir);
        }
        await appendFile(full, data);
        disk.added(full, data.length);
        ctx.stats.inc('raw_written_total');
      } catch (err) {
        dirs.clear();
        fail(1, `cannot write ${path}`, err);
      }
    }
  };

  const kick = (): void => {
    running ??= drain().finally(() => {
      running = undefined;
      if (queue.length) kick();
    });
  };

  const off = ctx.bus.on('session', (ev) => {
    if (!ev.payloads.length) return;
    const path = rawFileName(ev);
    if (!path) return fail(1, 'session without a valid address or port');
    const data = Buffer.concat(ev.payloads.map((p) => Buffer.from(p.data, 'base64')));
    const cost = entryBytes(path, data);
    if (pending + cost > MAX_PENDING_BYTES) return fail(1, 'write queue full');
    queue.push({ path, data });
    pending += cost;
    kick();
  });

  const c = component(
    'raw-files',
    async () => {
      off();
      while (running) await running;
    },
    () => off(),
  );
  return { ...c, disk };
}
