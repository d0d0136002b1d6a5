// Inserts one chunk (one table's rows, one batch id) so that sending it twice stores it once. A chunk that
// may have reached the server before (the first one read after a restart, and any chunk whose last attempt
// failed: the server may have written it before the error reached us) is checked first: for each UTC day in
// it, are rows with its batch id already there? An insert writes one part per day partition, all or
// nothing, so a day that is present is complete and is left out, and only missing days are inserted. The
// materialized views see each row once, so the counters built from them count it once.
//
// That check alone depends on timing: an insert the client gave up on (timeout, reset) may still be running
// in the server and write its rows after the check found none. So every insert of a chunk carries the same
// query id (sensor, table, batch): while one attempt runs, ClickHouse refuses another with that id ("already
// running"), the retry fails and is tried again later, and by then the first attempt's rows are there or it
// is gone. Batch ids are unique per sensor only, so the check also names the sensor.
import type { ClickHouseClient } from '@clickhouse/client';

import { day as dayLit, int, list, qualified, sql, str } from '../../store/clickhouse/sql.js';
import type { Chunk } from './batch.js';

const DAY_MS = 86_400_000;

/** The id every attempt to insert this chunk runs under (ClickHouse runs one query per id at a time). */
export function queryIdOf(c: Chunk): string {
  return `tidewatch-${c.table}-${c.batch}-${String(c.rows[0]?.sensor ?? '')}`;
}

/** Days (YYYY-MM-DD) of the chunk that already hold rows of its batch. */
async function daysPresent(ch: ClickHouseClient, database: string, c: Chunk): Promise<Set<string>> {
  const days = [...new Set(c.rows.map((r) => String(r.day)))];
  const lits = days.map((d) => dayLit(Math.round(Date.parse(`${d}T00:00:00Z`) / DAY_MS)));
  const q = sql`SELECT toString(day) AS d FROM ${qualified(database, c.table)}
    WHERE day IN (${list(lits)}) AND batch = ${int(c.batch)} AND sensor = ${str(String(c.rows[0]?.sensor ?? ''))}
    GROUP BY day`;
  const rows = await (await ch.query({ query: q.text, format: 'JSONEachRow' })).json<{ d: string }>();
  return new Set(rows.map((r) => r.d));
}

/** Inserts the chunk (only its missing days when it may have been sent before); returns rows inserted. */
export async function sendChunk(
  ch: ClickHouseClient,
  database: string,
  c: Chunk,
  maybeSent: boolean,
): Promise<number> {
  let rows = c.rows;
  if (maybeSent && rows.length) {
    const present = await daysPresent(ch, database, c);
    if (present.size) rows = rows.filter((r) => !present.has(String(r.day)));
  }
  if (!rows.length) return 0;
  await ch.insert({
    table: qualified(database, c.table).text,
    values: rows,
    format: 'JSONEachRow',
    query_id: queryIdOf(c),
  });
  return rows.length;
}
