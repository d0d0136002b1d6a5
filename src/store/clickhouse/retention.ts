// Retention over ClickHouse: whole day partitions older than --retain-days (sessions, payloads and other raw
// events) or --retain-counter-days (counters, daily rows, rollups) are dropped. DROP PARTITION works on every
// server version, unlike TTL, and costs nothing per row.
import type { ClickHouseClient } from '@clickhouse/client';

import { qualified, sql, str } from './sql.js';
import { COUNTER_TABLES, SESSION_TABLES } from './schema.js';

const DAY_MS = 86_400_000;

/** Drops expired day partitions; returns how many went. */
export async function dropOldPartitions(
  ch: ClickHouseClient,
  database: string,
  keep: { retainDays: number; retainCounterDays: number },
  now = Date.now(),
): Promise<number> {
  const cutoff = (days: number): string => new Date(now - days * DAY_MS).toISOString().slice(0, 10);
  const limits = new Map<string, string>();
  for (const t of SESSION_TABLES) limits.set(t, cutoff(keep.retainDays));
  for (const t of COUNTER_TABLES) limits.set(t, cutoff(keep.retainCounterDays));
  const q = sql`SELECT DISTINCT table, partition FROM system.parts WHERE database = ${str(database)} AND active`;
  const parts = await (
    await ch.query({ query: q.text, format: 'JSONEachRow' })
  ).json<{
    table: string;
    partition: string;
  }>();
  let dropped = 0;
  for (const p of parts) {
    const limit = limits.get(p.table);
    // Partitions are Date values, shown as 'YYYY-MM-DD' (quotes included on some versions).
    const day = p.partition.replace(/'/g, '');
    if (!limit || !/^\d{4}-\d{2}-\d{2}$/.test(day) || day >= limit) continue;
    await ch.command({
      query: sql`ALTER TABLE ${qualified(database, p.table)} DROP PARTITION ${str(day)}`.text,
    });
    dropped++;
  }
  return dropped;
}
