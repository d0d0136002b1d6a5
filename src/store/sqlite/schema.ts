// The versioned schema of the SQLite store. PRAGMA user_version holds the version; MIGRATIONS[i] takes a
// database from version i to i+1, so a fresh file runs them all and an old one runs only what it lacks.
// Times are integers: ms since the epoch (ts, first_seen, last_seen of sessions/scans/spikes/blocks/sources),
// minutes and hours since the epoch for counters, UTC day numbers (days since 1970-01-01) for daily rows,
// whose first_seen/last_seen are unix seconds as in Tsusen's CSV.
import type { Database } from 'better-sqlite3';

import { TidewatchError } from '../../core/errors.js';

/**
 * Version 1: counters per minute, daily rows, sessions with payloads deduplicated, scans, spikes, blocks.
 * Payload ids never get reused (AUTOINCREMENT): the quota prunes payloads before the sessions that point to
 * them, and such a session must show no payload rather than a newer, unrelated one.
 */
export const SCHEMA_V1 = `
CREATE TABLE counters_min (
  minute INTEGER NOT NULL, proto INTEGER NOT NULL, port INTEGER NOT NULL,
  all_n INTEGER NOT NULL, new_n INTEGER NOT NULL, sess_n INTEGER NOT NULL,
  PRIMARY KEY (proto, port, minute)
) WITHOUT ROWID;
CREATE INDEX counters_min_minute ON counters_min (minute);
CREATE TABLE daily (
  day INTEGER NOT NULL, proto TEXT NOT NULL, dst_port INTEGER, dst_ip TEXT NOT NULL, src_ip TEXT NOT NULL,
  first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL, count INTEGER NOT NULL,
  PRIMARY KEY (day, src_ip, proto, dst_port, dst_ip)
) WITHOUT ROWID;
CREATE TABLE payloads (
  id INTEGER PRIMARY KEY AUTOINCREMENT, hash BLOB NOT NULL UNIQUE, data BLOB NOT NULL, size INTEGER NOT NULL,
  first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL
);
CREATE INDEX payloads_last ON payloads (last_seen);
CREATE TABLE sessions (
  id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, ended INTEGER NOT NULL, proto TEXT NOT NULL,
  src TEXT NOT NULL, sport INTEGER NOT NULL, dst TEXT NOT NULL, dport INTEGER NOT NULL,
  bytes INTEGER NOT NULL, truncated INTEGER NOT NULL, close TEXT NOT NULL, payload_id INTEGER,
  tls TEXT, tags TEXT, geo TEXT
);
CREATE INDEX sessions_ts ON sessions (ts);
CREATE INDEX sessions_port ON sessions (dport, ts);
CREATE INDEX sessions_src ON sessions (src, ts);
CREATE TABLE scans (
  id TEXT PRIMARY KEY, src TEXT NOT NULL, state TEXT NOT NULL,
  first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL, ev TEXT NOT NULL
);
CREATE INDEX scans_last ON scans (last_seen);
CREATE INDEX scans_src ON scans (src, last_seen);
CREATE TABLE spikes (
  id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, proto TEXT NOT NULL, dport INTEGER NOT NULL, ev TEXT NOT NULL
);
CREATE INDEX spikes_ts ON spikes (ts);
CREATE INDEX spikes_port ON spikes (dport, ts);
CREATE TABLE blocks (
  id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, src TEXT NOT NULL, action TEXT NOT NULL,
  until INTEGER, reason TEXT NOT NULL
);
CREATE INDEX blocks_ts ON blocks (ts);
CREATE INDEX blocks_src ON blocks (src, ts);
`;

/**
 * Version 2, for the summary and series at tens of millions of sessions:
 * - counters keyed by time first (a range of minutes or hours is one contiguous run of the primary key) with
 *   an index by (proto, port, time) for series; counters_min is rebuilt that way;
 * - a totals row per minute and hour (proto 2, port 0), so totals never sum every port;
 * - hourly counters, so summaries and day/hour series read ~60x fewer rows;
 * - one row per source (first/last seen, counts, geo, tags) for the source pages;
 * - attempts and sessions per UTC day by country and by ASN (the summary's top lists);
 * - indexes of daily rows by source and by port.
 * New tables are filled from what version 1 kept.
 */
export const SCHEMA_V2 = `
CREATE TABLE counters_min_v2 (
  minute INTEGER NOT NULL, proto INTEGER NOT NULL, port INTEGER NOT NULL,
  all_n INTEGER NOT NULL, new_n INTEGER NOT NULL, sess_n INTEGER NOT NULL,
  PRIMARY KEY (minute, proto, port)
) WITHOUT ROWID;
INSERT INTO counters_min_v2 SELECT minute, proto, port, all_n, new_n, sess_n FROM counters_min;
INSERT INTO counters_min_v2
  SELECT minute, 2, 0, sum(all_n), sum(new_n), sum(sess_n) FROM counters_min GROUP BY minute;
DROP TABLE counters_min;
ALTER TABLE counters_min_v2 RENAME TO counters_min;
CREATE INDEX counters_min_port ON counters_min (proto, port, minute);
CREATE TABLE counters_hour (
  hour INTEGER NOT NULL, proto INTEGER NOT NULL, port INTEGER NOT NULL,
  all_n INTEGER NOT NULL, new_n INTEGER NOT NULL, sess_n INTEGER NOT NULL,
  PRIMARY KEY (hour, proto, port)
) WITHOUT ROWID;
CREATE INDEX counters_hour_port ON counters_hour (proto, port, hour);
INSERT INTO counters_hour
  SELECT minute / 60, proto, port, sum(all_n), sum(new_n), sum(sess_n) FROM counters_min
  GROUP BY minute / 60, proto, port;
CREATE INDEX daily_src ON daily (src_ip, dst_port);
CREATE INDEX daily_port ON daily (dst_port, day);
CREATE TABLE sources (
  ip TEXT PRIMARY KEY, first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL,
  sessions INTEGER NOT NULL, attempts INTEGER NOT NULL, cc TEXT, asn INTEGER, org TEXT, tags TEXT
);
CREATE INDEX sources_last ON sources (last_seen, first_seen);
CREATE INDEX sources_attempts ON sources (attempts);
INSERT INTO sources (ip, first_seen, last_seen, sessions, attempts)
  SELECT src_ip, min(first_seen) * 1000, max(last_seen) * 1000, 0, sum(count) FROM daily GROUP BY src_ip;
INSERT INTO sources (ip, first_seen, last_seen, sessions, attempts, cc, asn, org, tags)
  SELECT src, min(ts), max(ts), count(*), 0,
    json_extract(max(geo), '$.cc'), json_extract(max(geo), '$.asn'), json_extract(max(geo), '$.org'), NULL
  -- WHERE true: without it SQLite would read ON CONFLICT as part of the SELECT's join syntax.
  FROM sessions WHERE true GROUP BY src
  ON CONFLICT (ip) DO UPDATE SET
    first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen),
    sessions = excluded.sessions, cc = excluded.cc, asn = excluded.asn, org = excluded.org;
CREATE TABLE cc_day (
  day INTEGER NOT NULL, cc TEXT NOT NULL, attempts INTEGER NOT NULL, sessions INTEGER NOT NULL,
  PRIMARY KEY (day, cc)
) WITHOUT ROWID;
CREATE TABLE asn_day (
  day INTEGER NOT NULL, asn INTEGER NOT NULL, org TEXT, attempts INTEGER NOT NULL, sessions INTEGER NOT NULL,
  PRIMARY KEY (day, asn)
) WITHOUT ROWID;
INSERT INTO cc_day SELECT ts / 86400000, json_extract(geo, '$.cc'), 0, count(*) FROM sessions
  WHERE json_extract(geo, '$.cc') IS NOT NULL GROUP BY 1, 2;
INSERT INTO asn_day SELECT ts / 86400000, json_extract(geo, '$.asn'), max(json_extract(geo, '$.org')), 0, count(*)
  FROM sessions WHERE json_extract(geo, '$.asn') IS NOT NULL GROUP BY 1, 2;
`;

/** proto value of the per-minute and per-hour totals rows (tcp 0, udp 1). */
export const PROTO_TOTAL = 2;

/**
 * Version 3: counters per UTC day, with an index of each day's ports by new connections, so top ports over
 * several days read each day's busiest ports instead of every (port, hour) row (top-ports.ts).
 */
export const SCHEMA_V3 = `
CREATE TABLE counters_day (
  day INTEGER NOT NULL, proto INTEGER NOT NULL, port INTEGER NOT NULL,
  all_n INTEGER NOT NULL, new_n INTEGER NOT NULL, sess_n INTEGER NOT NULL,
  PRIMARY KEY (day, proto, port)
) WITHOUT ROWID;
INSERT INTO counters_day
  SELECT hour / 24, proto, port, sum(all_n), sum(new_n), sum(sess_n) FROM counters_hour GROUP BY hour / 24, proto, port;
CREATE INDEX counters_day_port ON counters_day (proto, port, day);
CREATE INDEX counters_day_top ON counters_day (day, new_n);
`;

/**
 * Version 4: what a responder recorded (docs/responders.md): the persona, and its credentials, commands,
 * HTTP requests, SSH fields and the start of what was sent, as one JSON object.
 */
export const SCHEMA_V4 = `
ALTER TABLE sessions ADD COLUMN persona TEXT;
ALTER TABLE sessions ADD COLUMN respond TEXT;
`;

/**
 * Version 5, intelligence (src/intel): each session's app, signature template and the rest of its intel as
 * JSON; its tags one row each (the session browser's tag filter reads them by tag and time); signatures with
 * their first sighting (a "new" campaign is a signature this store never saw); IOCs with first and last seen
 * and a few sources; campaign events.
 */
export const SCHEMA_V5 = `
ALTER TABLE sessions ADD COLUMN app TEXT;
ALTER TABLE sessions ADD COLUMN signature TEXT;
ALTER TABLE sessions ADD COLUMN intel TEXT;
CREATE INDEX sessions_signature ON sessions (signature, ts) WHERE signature IS NOT NULL;
CREATE TABLE session_tags (
  tag TEXT NOT NULL, ts INTEGER NOT NULL, session_id INTEGER NOT NULL,
  PRIMARY KEY (tag, ts, session_id)
) WITHOUT ROWID;
CREATE INDEX session_tags_ts ON session_tags (ts);
CREATE TABLE signatures (
  template TEXT PRIMARY KEY, first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL, sessions INTEGER NOT NULL,
  app TEXT, sha256 TEXT, example TEXT, tags TEXT, cves TEXT
);
CREATE INDEX signatures_last ON signatures (last_seen);
CREATE TABLE iocs (
  kind TEXT NOT NULL, value TEXT NOT NULL, first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL,
  sessions INTEGER NOT NULL, sources TEXT NOT NULL, PRIMARY KEY (kind, value)
);
CREATE INDEX iocs_last ON iocs (last_seen);
CREATE TABLE campaigns (
  id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, signature TEXT NOT NULL, kind TEXT NOT NULL, ev TEXT NOT NULL
);
CREATE INDEX campaigns_ts ON campaigns (ts);
`;

export const MIGRATIONS: readonly string[] = [SCHEMA_V1, SCHEMA_V2, SCHEMA_V3, SCHEMA_V4, SCHEMA_V5];
export const SCHEMA_VERSION = MIGRATIONS.length;

/** Brings the database to SCHEMA_VERSION, each step in its own transaction. */
export function migrate(db: Database): { from: number; to: number } {
  const from = db.pragma('user_version', { simple: true }) as number;
  if (from > SCHEMA_VERSION)
    throw new TidewatchError(
      'TW_ERR_STORE',
      `the store was written by a newer tidewatch (schema ${from}, this one knows ${SCHEMA_VERSION}): upgrade, or move the file away`,
    );
  // Must precede the first table (db.ts also sets it before WAL writes the header).
  if (from === 0) db.pragma('auto_vacuum = INCREMENTAL');
  for (let v = from; v < SCHEMA_VERSION; v++) {
    const sql = MIGRATIONS[v]!;
    db.transaction(() => {
      db.exec(sql);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
  return { from, to: SCHEMA_VERSION };
}
