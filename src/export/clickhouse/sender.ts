// Inserts one chunk (one table's rows of one UTC day, one batch id) so that sending it twice stores it once.
// A chunk that may have reached the server before (the first one read after a restart, and any chunk whose
// last attempt failed: the server may have written it before the error reached us) is checked first: are
// rows with its batch id in its day already? An insert writes one part per day partition, all or nothing,
// so a chunk that is present is complete and is left out. The materialized views see each row once, so the
// counters built from them count it once.
//
// That check alone depends on timing: an insert the client gave up on (timeout, reset) may still be running
// in the server and write its rows after the check found none. So every insert of a chunk carries the same
// query id (sensor, table, batch): while one attempt runs, ClickHouse refuses another with that id ("already
// running"), the retry fails and is tried again later, and by then the first attempt's rows are there or it
// is gone. Batch ids are unique per sensor only, so the check also names the sensor.
import { Readable } from 'node:stream';

import type { ClickHouseClient } from '@clickhouse/client';

import { day as dayLit, int, qualified, sql, str } from '../../store/clickhouse/sql.js';
import type { SpooledChunk } from './chunks.js';

const DAY_MS = 86_400_000;

/** The id every attempt to insert this chunk runs under (ClickHouse runs one query per id at a time). */
export function queryIdOf(c: SpooledChunk): string {
  return `tidewatch-${c.table}-${c.batch}-${c.sensor}`;
}

/** True when rows of the chunk's batch are already in its day partition. */
async function present(ch: ClickHouseClient, database: string, c: SpooledChunk): Promise<boolean> {
  const day = dayLit(Math.round(Date.parse(`${c.day}T00:00:00Z`) / DAY_MS));
  const q = sql`SELECT count() AS n FROM ${qualified(database, c.table)}
    WHERE day = ${day} AND batch = ${int(c.batch)} AND sensor = ${str(c.sensor)}`;
  const rows = await (await ch.query({ query: q.text, format: 'JSONEachRow' })).json<{ n: string }>();
  return Number(rows[0]?.n ?? 0) > 0;
}

/** Inserts the chunk (unless it may have been sent before and is there); returns rows inserted. */
export async function sendChunk(
  ch: ClickHouseClient,
  database: string,
  c: SpooledChunk,
  maybeSent: boolean,
): Promise<number> {
  if (!c.rows || (maybeSent && (await present(ch, database, c)))) return 0;
  await ch.insert({
    table: qualified(database, c.table).text,
    columns: c.columns as [string, ...string[]],
    values: Readable.from([c.data], { objectMode: false }),
    format: 'TabSeparated',
    query_id: queryIdOf(c),
  });
  return c.rows;
}
