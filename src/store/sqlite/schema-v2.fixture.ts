// The migration SQL of schema version 2 exactly as released (applied on top of version 1), frozen here so the
// migration test builds real version-2 files even if schema.ts is edited later. Do not change it.
export const FIXTURE_V2_DDL = `
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
