// The DDL of schema version 1 exactly as released, frozen here so the migration test starts from what real
// databases hold even if schema.ts is edited later. Do not change it.
export const FIXTURE_V1_DDL = `
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
