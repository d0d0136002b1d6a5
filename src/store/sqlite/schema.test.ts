// Migrations: from an empty file, from the frozen version-1 DDL with data in it, and refusal of a newer file.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import Database from 'better-sqlite3';

import { isTidewatchError } from '../../core/errors.js';
import { DB_FILE, openDb } from './db.js';
import { FIXTURE_V1_DDL } from './schema-v1.fixture.js';
import { FIXTURE_V2_DDL } from './schema-v2.fixture.js';
import { SCHEMA_V1, SCHEMA_V2, SCHEMA_VERSION } from './schema.js';
import { SqliteQueryStore } from './queries.js';

const dirs: string[] = [];
const tmp = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'tw-schema-'));
  dirs.push(d);
  return d;
};
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const tables = (db: Database.Database): string[] =>
  (
    db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as {
      name: string;
    }[]
  )
    .map((r) => r.name)
    .filter((n) => !n.startsWith('sqlite_'));

const ALL = [
  'asn_day',
  'blocks',
  'campaigns',
  'cc_day',
  'counters_day',
  'counters_hour',
  'counters_min',
  'daily',
  'iocs',
  'payloads',
  'scans',
  'session_tags',
  'sessions',
  'signatures',
  'sources',
  'spikes',
];

describe('schema migrations', () => {
  it('version 1 in schema.ts is the released one (the fixture)', () => {
    assert.equal(SCHEMA_V1.trim(), FIXTURE_V1_DDL.trim());
  });

  it('version 2 in schema.ts is the released one (the fixture)', () => {
    assert.equal(SCHEMA_V2.trim(), FIXTURE_V2_DDL.trim());
  });

  it('migrates a version-2 file: daily counters filled from the hourly ones', async () => {
    const dir = tmp();
    const v2 = new Database(join(dir, DB_FILE));
    v2.exec(FIXTURE_V1_DDL);
    v2.exec(FIXTURE_V2_DDL);
    v2.pragma('user_version = 2');
    const ins = v2.prepare('INSERT INTO counters_hour VALUES (?, ?, ?, ?, ?, ?)');
    const d = 20_000; // a day number
    ins.run(d * 24 + 1, 0, 443, 5, 4, 1);
    ins.run(d * 24 + 23, 0, 443, 3, 2, 0);
    ins.run((d + 1) * 24, 0, 443, 7, 7, 2);
    ins.run(d * 24 + 1, 1, 53, 1, 1, 1);
    v2.close();
    const { db, migrated } = openDb(dir);
    assert.deepEqual(migrated, { from: 2, to: SCHEMA_VERSION });
    assert.deepEqual(tables(db), ALL);
    assert.deepEqual(
      db.prepare('SELECT day, proto, port, all_n, new_n, sess_n FROM counters_day ORDER BY day, proto').all(),
      [
        { day: d, proto: 0, port: 443, all_n: 8, new_n: 6, sess_n: 1 },
        { day: d, proto: 1, port: 53, all_n: 1, new_n: 1, sess_n: 1 },
        { day: d + 1, proto: 0, port: 443, all_n: 7, new_n: 7, sess_n: 2 },
      ],
    );
    const series = await new SqliteQueryStore(db).portSeries({
      proto: 'tcp',
      port: 443,
      step: 'day',
      from: d * 86_400_000,
      to: (d + 2) * 86_400_000,
    });
    assert.deepEqual(
      series.map((p) => p.new),
      [6, 7],
    );
    db.close();
  });

  it('creates every table from an empty file, with incremental auto-vacuum and WAL', () => {
    const dir = tmp();
    const { db, migrated } = openDb(dir);
    assert.deepEqual(migrated, { from: 0, to: SCHEMA_VERSION });
    assert.equal(SCHEMA_VERSION, 5);
    assert.deepEqual(tables(db), ALL);
    assert.equal(db.pragma('auto_vacuum', { simple: true }), 2);
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    db.close();
    // Opening again migrates nothing.
    const again = openDb(dir);
    assert.deepEqual(again.migrated, { from: SCHEMA_VERSION, to: SCHEMA_VERSION });
    again.db.close();
  });

  it('migrates a version-1 file with data: hourly counters and sources filled from it', async () => {
    const dir = tmp();
    const v1 = new Database(join(dir, DB_FILE));
    v1.exec(FIXTURE_V1_DDL);
    v1.pragma('user_version = 1');
    const ins = v1.prepare('INSERT INTO counters_min VALUES (?, ?, ?, ?, ?, ?)');
    const h = 490_000; // an hour number
    ins.run(h * 60 + 1, 0, 22, 5, 4, 1);
    ins.run(h * 60 + 59, 0, 22, 3, 2, 0);
    ins.run((h + 1) * 60, 0, 22, 7, 7, 2);
    v1.prepare('INSERT INTO daily VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(
      Math.floor((h * 3600) / 86400),
      'TCP',
      22,
      '198.18.0.1',
      '8.8.8.8',
      h * 3600 + 60,
      h * 3600 + 3600,
      16,
    );
    v1.prepare(
      `INSERT INTO sessions (ts, ended, proto, src, sport, dst, dport, bytes, truncated, close, geo)
       VALUES (?, ?, 'tcp', '8.8.8.8', 1, '198.18.0.1', 22, 0, 0, 'fin', ?)`,
    ).run(h * 3_600_000 + 30_000, h * 3_600_000 + 31_000, '{"cc":"US","asn":15169,"org":"Google LLC"}');
    v1.close();

    const { db, migrated } = openDb(dir);
    assert.deepEqual(migrated, { from: 1, to: SCHEMA_VERSION });
    assert.deepEqual(tables(db), ALL);
    assert.deepEqual(
      db
        .prepare('SELECT hour, proto, port, all_n, new_n, sess_n FROM counters_hour ORDER BY hour, proto')
        .all(),
      [
        { hour: h, proto: 0, port: 22, all_n: 8, new_n: 6, sess_n: 1 },
        { hour: h, proto: 2, port: 0, all_n: 8, new_n: 6, sess_n: 1 },
        { hour: h + 1, proto: 0, port: 22, all_n: 7, new_n: 7, sess_n: 2 },
        { hour: h + 1, proto: 2, port: 0, all_n: 7, new_n: 7, sess_n: 2 },
      ],
    );
    assert.deepEqual(db.prepare('SELECT * FROM cc_day').all(), [
      { day: Math.floor(h / 24), cc: 'US', attempts: 0, sessions: 1 },
    ]);
    assert.deepEqual(db.prepare('SELECT * FROM asn_day').all(), [
      { day: Math.floor(h / 24), asn: 15169, org: 'Google LLC', attempts: 0, sessions: 1 },
    ]);
    // The rebuilt minute table kept its rows and gained the totals.
    assert.equal((db.prepare('SELECT count(*) n FROM counters_min').get() as { n: number }).n, 6);
    const totals = await new SqliteQueryStore(db).summary({ from: h * 3_600_000, to: (h + 2) * 3_600_000 });
    assert.deepEqual([totals.totals.attempts, totals.totals.sessions], [13, 3]);
    const q = new SqliteQueryStore(db);
    assert.deepEqual(await q.source('8.8.8.8'), {
      ip: '8.8.8.8',
      first_seen: h * 3_600_000 + 30_000,
      last_seen: (h + 1) * 3_600_000,
      sessions: 1,
      attempts: 16,
      ports: 1,
      sensors: 1,
      tags: [],
      geo: { cc: 'US', asn: 15169, org: 'Google LLC' },
    });
    const series = await q.portSeries({
      proto: 'tcp',
      port: 22,
      step: 'hour',
      from: h * 3_600_000,
      to: (h + 2) * 3_600_000,
    });
    assert.deepEqual(
      series.map((p) => p.new),
      [6, 7],
    );
    db.close();
  });

  it('refuses a file written by a newer schema', () => {
    const dir = tmp();
    const f = new Database(join(dir, DB_FILE));
    f.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    f.close();
    assert.throws(
      () => openDb(dir),
      (e: unknown) => isTidewatchError(e) && e.code === 'TW_ERR_STORE' && /newer/.test(e.message),
    );
  });
});
