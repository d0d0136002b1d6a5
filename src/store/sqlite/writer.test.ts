// The writer: payload deduplication across batches, a failed batch leaves no dangling payload ids, caps.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';

import type Database from 'better-sqlite3';

import type { SessionEvent } from '../../core/events.js';
import { openDb } from './db.js';
import { joinPayload } from '../../core/payload.js';
import { StoreWriter } from './writer.js';

const T = Date.UTC(2026, 2, 1);
const session = (data: string, t = T): SessionEvent => ({
  type: 'session',
  ts: new Date(t).toISOString(),
  sensor: 't',
  proto: 'tcp',
  src: '203.0.113.9',
  sport: 5000,
  dst: '198.18.0.1',
  dport: 23,
  started: new Date(t).toISOString(),
  ended: new Date(t).toISOString(),
  bytes: data.length,
  truncated: false,
  close: 'fin',
  payloads: [{ index: 0, timestamp: new Date(t).toISOString(), data: Buffer.from(data).toString('base64') }],
});

describe('StoreWriter', () => {
  let dir: string;
  let db: Database.Database;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tw-writer-'));
    ({ db } = openDb(dir));
  });
  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const rows = (): { data: Buffer | null; last_seen: number | null }[] =>
    db
      .prepare(
        'SELECT p.data, p.last_seen FROM sessions s LEFT JOIN payloads p ON p.id = s.payload_id ORDER BY s.id',
      )
      .all() as { data: Buffer | null; last_seen: number | null }[];

  it('stores a payload once across batches and keeps its last use', () => {
    const w = new StoreWriter(db, { maxPayloadBytes: 8192, maxPending: 1000 });
    w.addSession(session('root\r\n'));
    w.flush();
    w.addSession(session('root\r\n', T + 5000));
    w.addSession(session('admin\r\n', T + 6000));
    w.flush();
    assert.deepEqual(db.prepare('SELECT count(*) n FROM payloads').get(), { n: 2 });
    assert.deepEqual(
      rows().map((r) => [r.data?.toString(), r.last_seen]),
      [
        ['root\r\n', T + 5000],
        ['root\r\n', T + 5000],
        ['admin\r\n', T + 6000],
      ],
    );
  });

  it('after a failed batch, a repeated payload is stored again, not pointed at a rolled-back id', () => {
    const w = new StoreWriter(db, { maxPayloadBytes: 8192, maxPending: 1000 });
    w.addSession(session('GET /a'));
    // Fails after the payload row was written, inside the same transaction (as a full disk would).
    db.exec(`CREATE TEMP TRIGGER fail BEFORE INSERT ON sessions BEGIN SELECT RAISE(ABORT, 'disk full'); END`);
    assert.throws(() => w.flush(), /disk full/);
    db.exec('DROP TRIGGER fail');
    assert.equal(w.size, 0);
    w.addSession(session('GET /b'));
    w.addSession(session('GET /a'));
    w.flush();
    assert.deepEqual(
      rows().map((r) => r.data?.toString()),
      ['GET /b', 'GET /a'],
    );
  });

  it('flushes itself at maxPending rows', () => {
    let full = 0;
    const w = new StoreWriter(db, { maxPayloadBytes: 8192, maxPending: 10, onFull: () => full++ });
    for (let i = 0; i < 9; i++)
      w.addSpike({
        type: 'spike',
        ts: new Date(T).toISOString(),
        sensor: 't',
        proto: 'tcp',
        dport: i,
        interval_s: 60,
        count: 1,
        baseline: { mean: 0, sd: 0, method: 'ewma' },
        score: 1,
      });
    assert.equal(full, 0);
    w.addBlock({
      type: 'block',
      ts: new Date(T).toISOString(),
      sensor: 't',
      action: 'added',
      src: '203.0.113.9',
      reason: 'x',
    });
    assert.equal(full, 1);
  });

  it('keeps at most maxPayloadBytes of the joined reads', () => {
    const reads = ['abcd', 'efgh', 'ijkl'].map((s, index) => ({
      index,
      timestamp: '',
      data: Buffer.from(s).toString('base64'),
    }));
    assert.equal(joinPayload(reads, 6).toString(), 'abcdef');
    assert.equal(joinPayload(reads, 100).toString(), 'abcdefghijkl');
    assert.equal(joinPayload([], 100).length, 0);
  });
});
