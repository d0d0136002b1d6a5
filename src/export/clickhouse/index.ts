// Ships every event of this sensor to ClickHouse (--clickhouse URL) for the fleet view. Events are folded
// into a BatchBuilder; every --clickhouse-flush (or at MAX_BATCH_ROWS) the batch is cut into chunks that go
// to a disk spool in the data dir (--clickhouse-spool-max; overflow counted), and a pump sends the spool in
// order, one chunk per INSERT. While ClickHouse is down or slow the spool grows and is sent when it answers;
// a restart resumes it. Retries are idempotent (sender.ts). The schema is migrated before the first insert,
// expired day partitions are dropped hourly.
import { join } from 'node:path';

import type { ClickHouseClient } from '@clickhouse/client';

import type { Geo } from '../../core/events.js';
import type { SensorContext } from '../../core/context.js';
import { component, type Component } from '../../core/lifecycle.js';
import { RateLimitedLog } from '../../core/log.js';
import { attemptOf } from '../../store/index.js';
import { openClient, parseClickHouseUrl, redacted } from '../../store/clickhouse/client.js';
import { dropOldPartitions } from '../../store/clickhouse/retention.js';
import { migrate } from '../../store/clickhouse/schema.js';
import type { DiskPart } from '../../store/disk-quota.js';
import { DiskSpool, spoolPart } from '../spool.js';
import { BatchBuilder } from './batch.js';
import { BatchIds, decodeChunk, encodeChunk, MAX_CHUNK_BYTES } from './chunks.js';
import { sendChunk } from './sender.js';

/** Rows folded that force a shipment before the timer. */
export const MAX_BATCH_ROWS = 50_000;
/** Bytes read from the spool at once: a whole chunk fits even if every character took 3 bytes. */
const READ_BYTES = 3 * MAX_CHUNK_BYTES + (64 << 10);
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 30_000;
const RETENTION_MS = 3_600_000;
/** How long close() keeps sending what waits before leaving it in the spool for the next run. */
const CLOSE_FLUSH_MS = 5_000;

export interface ShipperComponent extends Component {
  /** Resolves once the spool is empty and nothing is folded (tests, benchmarks). */
  drained(): Promise<void>;
  /** The spool as a part of the data dir's quota. */
  readonly disk: DiskPart;
}

export async function startClickHouseShipper(
  ctx: SensorContext,
  opts: { geo?: (ip: string) => Geo | undefined } = {},
): Promise<ShipperComponent> {
  const { cfg, bus, stats } = ctx;
  const log = ctx.log.child({ component: 'clickhouse' });
  const limited = new RateLimitedLog(log);
  const warnLimited = (key: string, obj: object, msg: string): void => {
    if (limited.allow(key)) log.warn(obj, msg);
  };
  const target = parseClickHouseUrl(cfg.clickhouse, cfg.clickhousePassword);
  const ch: ClickHouseClient = openClient(target);
  const spool = new DiskSpool(join(cfg.dataDir, 'spool'), 'clickhouse', cfg.clickhouseSpoolMax);
  await spool.open();
  const { geo } = opts;
  const builder = new BatchBuilder(new BatchIds(), {
    sensor: cfg.sensor,
    maxPayloadBytes: cfg.bufsize,
    ...(geo ? { geo } : {}),
  });
  // The first chunk read after a restart may have been inserted just before the crash.
  let maybeSent = spool.pending() > 0;
  if (maybeSent) log.info({ bytes: spool.pending() }, 'spooled ClickHouse batches from an earlier run');
  log.info({ clickhouse: redacted(target), sensor: cfg.sensor }, 'shipping events to ClickHouse');

  let migrated = false;
  let pumping: Promise<void> | undefined;
  let retry: NodeJS.Timeout | undefined;
  let backoff = BACKOFF_MIN_MS;
  let closed = false;
  let appends: Promise<void> = Promise.resolve();

  const ship = (): void => {
    const chunks = builder.take();
    for (const c of chunks) {
      const before = spool.overflowLines;
      appends = spool.append([encodeChunk(c)]).then(() => {
        if (spool.overflowLines > before) stats.inc('clickhouse_rows_dropped_total', c.rows);
        stats.set('clickhouse_spool_bytes', spool.pending());
      });
    }
    void appends.then(pump);
  };

  const retention = async (): Promise<void> => {
    const n = await dropOldPartitions(ch, target.database, cfg);
    if (n) log.info({ partitions: n }, 'dropped expired ClickHouse day partitions');
  };

  async function sendAll(): Promise<void> {
    if (!migrated) {
      const m = await migrate(ch, target.database);
      if (m.from !== m.to) log.info(m, 'ClickHouse schema migrated');
      migrated = true;
      void retention().catch((err: unknown) =>
        warnLimited('retention', { err }, 'ClickHouse retention failed'),
      );
    }
    for (;;) {
      const buf = await spool.read(READ_BYTES);
      if (!buf) return;
      let start = 0;
      while (start < buf.length) {
        const end = buf.indexOf(0x0a, start);
        const stop = end < 0 ? buf.length : end;
        const line = buf.subarray(start, stop);
        const chunk = line.length ? decodeChunk(line) : undefined;
        if (line.length && !chunk) {
          stats.inc('clickhouse_rows_dropped_total');
          warnLimited('damaged', { bytes: line.length }, 'a damaged ClickHouse spool line was dropped');
        }
        if (chunk) {
          const t0 = performance.now();
          const n = await sendChunk(ch, target.database, chunk, maybeSent);
          const ms = performance.now() - t0;
          maybeSent = false;
          stats.inc('clickhouse_rows_sent_total', n);
          stats.inc('clickhouse_batches_total');
          stats.inc('clickhouse_insert_seconds_total', ms / 1000);
          stats.set('clickhouse_insert_last_ms', Math.round(ms));
        }
        await spool.commit(stop + 1 - start);
        stats.set('clickhouse_spool_bytes', spool.pending());
        start = stop + 1;
      }
    }
  }

  function pump(): Promise<void> {
    if (pumping || retry) return pumping ?? Promise.resolve();
    pumping = sendAll()
      .then(() => {
        backoff = BACKOFF_MIN_MS;
      })
      .catch((err: unknown) => {
        // Down, slow or refusing: the chunk stays in the spool, and the next attempt checks what arrived.
        maybeSent = true;
        stats.inc('clickhouse_retries_total');
        warnLimited(
          'send',
          { err: (err as Error).message },
          'ClickHouse insert failed; spooling and retrying',
        );
        if (closed) return;
        retry = setTimeout(() => {
          retry = undefined;
          void pump();
        }, backoff);
        retry.unref();
        backoff = Math.min(BACKOFF_MAX_MS, backoff * 2);
      })
      .finally(() => {
        pumping = undefined;
      });
    return pumping;
  }

  const fold = (fn: () => void): void => {
    fn();
    if (builder.size >= MAX_BATCH_ROWS) ship();
  };
  const via = cfg.capture ? 'capture' : 'listener';
  const offs = [
    bus.on('probe', (ev) => {
      if (ev.via === via) fold(() => builder.addAttempt(attemptOf(ev)));
    }),
    bus.on('session', (ev) => fold(() => builder.addSession(ev))),
    bus.on('scan', (ev) => fold(() => builder.addScan(ev))),
    bus.on('spike', (ev) => fold(() => builder.addSpike(ev))),
    bus.on('block', (ev) => fold(() => builder.addBlock(ev))),
    bus.on('packets', (ev) => fold(() => builder.addOther(ev))),
    bus.on('campaign', (ev) => fold(() => builder.addOther(ev))),
  ];
  const timer = setInterval(ship, cfg.clickhouseFlush);
  timer.unref();
  const retentionTimer = setInterval(() => {
    if (migrated)
      void retention().catch((err: unknown) => warnLimited('retention', { err }, 'retention failed'));
  }, RETENTION_MS);
  retentionTimer.unref();
  const stopTimers = (): void => {
    for (const off of offs) off();
    clearInterval(timer);
    clearInterval(retentionTimer);
  };

  const drained = async (): Promise<void> => {
    for (;;) {
      if (builder.size) ship();
      await appends;
      await spool.idle();
      if (!spool.pending()) return;
      if (retry) {
        clearTimeout(retry);
        retry = undefined;
      }
      await pump();
      if (spool.pending()) await new Promise((r) => setTimeout(r, 100));
    }
  };

  const c = component(
    'clickhouse',
    async () => {
      stopTimers();
      ship();
      await appends;
      const deadline = new Promise<void>((r) => setTimeout(r, CLOSE_FLUSH_MS).unref());
      await Promise.race([pump(), deadline]);
      closed = true;
      if (retry) clearTimeout(retry);
      if (spool.pending())
        log.warn({ bytes: spool.pending() }, 'ClickHouse batches left in the spool for the next run');
      await spool.close();
      await ch.close();
    },
    () => {
      closed = true;
      stopTimers();
      if (retry) clearTimeout(retry);
      void spool.close();
      void ch.close();
    },
  );
  return Object.assign(c, { drained, disk: spoolPart(spool, 'clickhouse_spool', stats) });
}
