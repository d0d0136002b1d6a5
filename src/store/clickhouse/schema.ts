// The versioned ClickHouse schema (docs/fleet.md describes it table by table). schema_version holds one row
// per applied step; MIGRATIONS[i] takes a database from version i to i+1, so `tidewatch clickhouse init` and
// every start run only what is missing. Everything here runs on 18.16 (Debian 12) and on current servers:
// no TTL, no Nullable keys, no DateTime64, no IPv6 type. Tables are partitioned by UTC day (a Date column
// `day`) so retention drops whole partitions, and each raw row carries the `batch` it was shipped in, which
// makes a retried insert detectable (export/clickhouse/sender.ts). Times are ms since the epoch (UInt64)
// unless named otherwise; minutes and hours count since the epoch.
import type { ClickHouseClient } from '@clickhouse/client';

import { TidewatchError } from '../../core/errors.js';
import { ident, qualified, sql, type Sql } from './sql.js';

/** Tables whose rows live --retain-days; the rest (counters, daily rows, rollups) --retain-counter-days. */
export const SESSION_TABLES = [
  'sessions',
  'payloads',
  'counter_rows',
  'source_tags',
  'scans',
  'spikes',
  'blocks',
  'events',
  'heartbeats',
  'iocs',
] as const;
export const COUNTER_TABLES = [
  'counters_min',
  'counters_hour',
  'counters_day',
  'daily',
  'sources_day',
  'geo_day',
] as const;

const V1 = `
CREATE TABLE IF NOT EXISTS {db}.sessions (
  sensor String, day Date, id UInt64, ts UInt64, ended UInt64, proto String, src String, sport UInt16,
  dst String, dport UInt16, bytes UInt64, truncated UInt8, close String, payload String,
  tls String, tags String, cc String, asn UInt32, org String, extra String, batch UInt64
) ENGINE = MergeTree PARTITION BY day ORDER BY id;
CREATE TABLE IF NOT EXISTS {db}.payloads (
  day Date, hash String, data String, size UInt32, sensor String, batch UInt64
) ENGINE = ReplacingMergeTree PARTITION BY day ORDER BY hash;
CREATE TABLE IF NOT EXISTS {db}.counter_rows (
  sensor String, day Date, minute UInt32, proto UInt8, port UInt16,
  all_n UInt64, new_n UInt64, sess_n UInt64, batch UInt64
) ENGINE = MergeTree PARTITION BY day ORDER BY (sensor, minute, proto, port);
CREATE TABLE IF NOT EXISTS {db}.counters_min (
  day Date, proto UInt8, port UInt16, minute UInt32, sensor String, all_n UInt64, new_n UInt64, sess_n UInt64
) ENGINE = SummingMergeTree PARTITION BY day ORDER BY (proto, port, minute, sensor);
CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.counters_min_mv TO {db}.counters_min AS
  SELECT day, proto, port, minute, sensor, all_n, new_n, sess_n FROM {db}.counter_rows;
CREATE TABLE IF NOT EXISTS {db}.counters_hour (
  day Date, proto UInt8, port UInt16, hour UInt32, sensor String, all_n UInt64, new_n UInt64, sess_n UInt64
) ENGINE = SummingMergeTree PARTITION BY day ORDER BY (proto, port, hour, sensor);
CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.counters_hour_mv TO {db}.counters_hour AS
  SELECT day, proto, port, intDiv(minute, 60) AS hour, sensor, all_n, new_n, sess_n FROM {db}.counter_rows;
CREATE TABLE IF NOT EXISTS {db}.counters_day (
  day Date, proto UInt8, port UInt16, sensor String, all_n UInt64, new_n UInt64, sess_n UInt64
) ENGINE = SummingMergeTree PARTITION BY day ORDER BY (day, proto, port, sensor);
CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.counters_day_mv TO {db}.counters_day AS
  SELECT day, proto, port, sensor, all_n, new_n, sess_n FROM {db}.counter_rows;
CREATE TABLE IF NOT EXISTS {db}.daily (
  sensor String, day Date, proto String, dst_port Int32, dst_ip String, src_ip String,
  first_seen UInt32, last_seen UInt32, count UInt64, cc String, asn UInt32, org String, batch UInt64
) ENGINE = MergeTree PARTITION BY day ORDER BY (src_ip, dst_port, dst_ip, proto);
CREATE TABLE IF NOT EXISTS {db}.sources_day (
  day Date, src String, sensor String,
  first_seen AggregateFunction(min, UInt64), last_seen AggregateFunction(max, UInt64),
  attempts AggregateFunction(sum, UInt64), sessions AggregateFunction(sum, UInt64),
  cc AggregateFunction(max, String), asn AggregateFunction(max, UInt32), org AggregateFunction(max, String)
) ENGINE = AggregatingMergeTree PARTITION BY day ORDER BY (src, sensor);
CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.sources_day_daily_mv TO {db}.sources_day AS
  SELECT day, src_ip AS src, sensor, minState(toUInt64(first_seen) * 1000) AS first_seen,
    maxState(toUInt64(last_seen) * 1000) AS last_seen, sumState(count) AS attempts,
    sumState(toUInt64(0)) AS sessions, maxState(cc) AS cc, maxState(asn) AS asn, maxState(org) AS org
  FROM {db}.daily GROUP BY day, src_ip, sensor;
CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.sources_day_sessions_mv TO {db}.sources_day AS
  SELECT day, src, sensor, minState(ts) AS first_seen, maxState(ts) AS last_seen,
    sumState(toUInt64(0)) AS attempts, sumState(toUInt64(1)) AS sessions,
    maxState(cc) AS cc, maxState(asn) AS asn, maxState(org) AS org
  FROM {db}.sessions GROUP BY day, src, sensor;
CREATE TABLE IF NOT EXISTS {db}.geo_day (
  day Date, cc String, asn UInt32, sensor String, org String, attempts UInt64, sessions UInt64
) ENGINE = SummingMergeTree((attempts, sessions)) PARTITION BY day ORDER BY (day, cc, asn, sensor);
CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.geo_day_daily_mv TO {db}.geo_day AS
  SELECT day, cc, asn, sensor, org, count AS attempts, toUInt64(0) AS sessions FROM {db}.daily;
CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.geo_day_sessions_mv TO {db}.geo_day AS
  SELECT day, cc, asn, sensor, org, toUInt64(0) AS attempts, toUInt64(1) AS sessions FROM {db}.sessions;
CREATE TABLE IF NOT EXISTS {db}.source_tags (
  sensor String, day Date, src String, name String, confidence Float64, batch UInt64
) ENGINE = MergeTree PARTITION BY day ORDER BY (src, name);
CREATE TABLE IF NOT EXISTS {db}.scans (
  sensor String, day Date, id String, src String, state String, first_ms UInt64, last_ms UInt64,
  ev String, batch UInt64
) ENGINE = ReplacingMergeTree(last_ms) PARTITION BY day ORDER BY (sensor, id);
CREATE TABLE IF NOT EXISTS {db}.spikes (
  sensor String, day Date, ts UInt64, proto String, dport UInt16, interval_s UInt32, ev String, batch UInt64
) ENGINE = MergeTree PARTITION BY day ORDER BY (ts, dport);
CREATE TABLE IF NOT EXISTS {db}.blocks (
  sensor String, day Date, ts UInt64, src String, action String, until UInt64, reason String, batch UInt64
) ENGINE = MergeTree PARTITION BY day ORDER BY (src, ts);
CREATE TABLE IF NOT EXISTS {db}.events (
  sensor String, day Date, ts UInt64, type String, ev String, batch UInt64
) ENGINE = MergeTree PARTITION BY day ORDER BY (type, ts);
CREATE TABLE IF NOT EXISTS {db}.heartbeats (
  sensor String, day Date, ts UInt64, batch UInt64
) ENGINE = MergeTree PARTITION BY day ORDER BY (sensor, ts)
`;

// Sessions gain the responder's and intel's fields (issues 12 and 13) as the SQLite store keeps them: persona,
// respond (JSON: sent, credentials, commands, http, ssh), app, signature (the template), intel (JSON: cves,
// rules, iocs, http, sha256), and tag_names for tag= (has() on an array, no JSON scan). Rows shipped before
// keep these fields only in `extra`. 18.16 has no ADD COLUMN IF NOT EXISTS: migrate() passes over a column
// that exists (a step cut short before its version row). IOCs get a row per session and IOC (the
// fleet's first/last seen and sources are aggregated on read); campaign events go to `events`.
const V2 = `
ALTER TABLE {db}.sessions ADD COLUMN persona String;
ALTER TABLE {db}.sessions ADD COLUMN respond String;
ALTER TABLE {db}.sessions ADD COLUMN app String;
ALTER TABLE {db}.sessions ADD COLUMN signature String;
ALTER TABLE {db}.sessions ADD COLUMN intel String;
ALTER TABLE {db}.sessions ADD COLUMN tag_names Array(String);
CREATE TABLE IF NOT EXISTS {db}.iocs (
  sensor String, day Date, ts UInt64, kind String, value String, src String, batch UInt64
) ENGINE = MergeTree PARTITION BY day ORDER BY (kind, value, ts)
`;

/** Each step: statements separated by ';' at the end of a line, {db} standing for the database. */
export const MIGRATIONS: readonly string[] = [V1, V2];
export const SCHEMA_VERSION = MIGRATIONS.length;

export function statements(step: string, database: string): Sql[] {
  const db = ident(database).text;
  return step
    .split(/;\s*\n/)
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => sql([s.replaceAll('{db}', db)] as unknown as TemplateStringsArray));
}

/** Creates the database and brings it to SCHEMA_VERSION; returns the versions before and after. */
export async function migrate(ch: ClickHouseClient, database: string): Promise<{ from: number; to: number }> {
  const db = ident(database);
  await ch.command({ query: sql`CREATE DATABASE IF NOT EXISTS ${db}`.text });
  const versions = qualified(database, 'schema_version');
  await ch.command({
    query: sql`CREATE TABLE IF NOT EXISTS ${versions} (version UInt32, applied DateTime) ENGINE = TinyLog`
      .text,
  });
  const rows = await (
    await ch.query({ query: sql`SELECT max(version) AS v FROM ${versions}`.text, format: 'JSONEachRow' })
  ).json<{ v: number | string }>();
  const from = Number(rows[0]?.v ?? 0);
  if (from > SCHEMA_VERSION)
    throw new TidewatchError(
      'TW_ERR_CLICKHOUSE',
      `the ClickHouse database ${database} was written by a newer tidewatch (schema ${from}, this one knows ${SCHEMA_VERSION}): upgrade tidewatch`,
    );
  for (let v = from; v < SCHEMA_VERSION; v++) {
    for (const st of statements(MIGRATIONS[v]!, database))
      await ch.command({ query: st.text }).catch((err: unknown) => {
        if (!(/ ADD COLUMN /.test(st.text) && /already exists/i.test((err as Error).message))) throw err;
      });
    await ch.command({ query: sql`INSERT INTO ${versions} SELECT ${v + 1}, now()`.text });
  }
  return { from, to: SCHEMA_VERSION };
}
