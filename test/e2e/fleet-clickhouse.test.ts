// The fleet end to end: three sensors in three test beds ship to one real ClickHouse, real clients (nc,
// openssl, nmap) probe them, and `tidewatch serve` shows the sum. ClickHouse runs in the host namespace on
// 127.0.0.1; each sensor namespace reaches it through socat over a Unix socket (sockets in the file system
// cross namespaces; no address or route is added on the host). ClickHouse is stopped mid-run, and one sensor
// is SIGKILLed with batches in its spool: every count in ClickHouse must still equal the sensor's own SQLite.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';

import { startClickHouse, CH_PASSWORD, type ClickHouseServer } from '../helpers/clickhouse.js';
import { CLI, eventually, startSensor, tempDir, type RunningSensor } from '../helpers/sensor.js';
import { createTestbed, isRoot, killTree, type Testbed } from '../helpers/testbed.js';

const N = 3;
const DB = 'fleet_e2e';
const HOSTILE = Buffer.concat([
  Buffer.from(`'); DROP TABLE sessions; -- \\"\\'`),
  Buffer.from([0, 0x27, 0x5c, 0xff, 0x0a]),
]);

interface Member {
  bed: Testbed;
  id: string;
  dataDir: string;
  sensor?: RunningSensor;
}

/** Sessions and attempts the sensor's own SQLite store holds. */
function sqliteCounts(dataDir: string): { sessions: number; attempts: number } {
  const db = new Database(join(dataDir, 'tidewatch.db'), { readonly: true });
  try {
    const r = db
      .prepare('SELECT coalesce(sum(sess_n),0) s, coalesce(sum(new_n),0) n FROM counters_min WHERE proto = 2')
      .get() as { s: number; n: number };
    const sessions = (db.prepare('SELECT count(*) n FROM sessions').get() as { n: number }).n;
    assert.equal(r.s, sessions);
    return { sessions, attempts: r.n };
  } finally {
    db.close();
  }
}

describe('fleet: three sensors, one ClickHouse, one serve', { skip: !isRoot() && 'needs root' }, () => {
  let ch: ClickHouseServer;
  const members: Member[] = [];
  const procs: ChildProcess[] = [];
  const sock = join(tempDir('tw-fleet-'), 'ch.sock');

  /** Sessions stored, and sessions and attempts counted in the rollup the summary reads. */
  const chCounts = (id: string): { sessions: number; counted: number; attempts: number; raw: string } => {
    const raw = ch
      .client(
        `SELECT (SELECT count() FROM ${DB}.sessions WHERE sensor = '${id}'),
          (SELECT sum(sess_n) FROM ${DB}.counters_min WHERE proto = 2 AND sensor = '${id}'),
          (SELECT sum(new_n) FROM ${DB}.counters_min WHERE proto = 2 AND sensor = '${id}'),
          (SELECT sum(sess_n) FROM ${DB}.counter_rows WHERE proto = 2 AND sensor = '${id}'),
          (SELECT sum(new_n) FROM ${DB}.counter_rows WHERE proto = 2 AND sensor = '${id}') FORMAT TSV`,
      )
      .trim();
    const [s, c, n] = raw.split('\t').map(Number);
    return { sessions: s!, counted: c!, attempts: n!, raw };
  };

  const start = async (m: Member): Promise<void> => {
    m.sensor = await startSensor(
      m.bed,
      ['--sensor', m.id, '--tcp-ports', '2222,4443,8080', '--udp-ports', '5353', '--http', 'off'].concat([
        '--clickhouse',
        `http://tw@127.0.0.1:8123/${DB}`,
        '--clickhouse-flush',
        '300ms',
        '--geoip',
        'off',
      ]),
      { dataDir: m.dataDir, env: { TIDEWATCH_CLICKHOUSE_PASSWORD: CH_PASSWORD } },
    );
  };

  /** Known traffic from real clients: `n` nc sessions with a payload, one TLS handshake, an nmap connect scan. */
  const traffic = async (
    m: Member,
    n: number,
    payload = Buffer.from('GET / HTTP/1.0\r\n\r\n'),
  ): Promise<void> => {
    for (let i = 0; i < n; i++)
      await m.bed.exec(m.bed.scannerNs, 'nc', ['-4', '-N', '-w', '3', m.bed.sensorIp, '8080'], {
        input: payload,
      });
    await m.bed.exec(
      m.bed.scannerNs,
      'openssl',
      ['s_client', '-connect', `${m.bed.sensorIp}:4443`, '-servername', 'fleet.example'],
      {
        input: 'Q\n',
        timeoutMs: 15_000,
      },
    );
    await m.bed.exec(m.bed.scannerNs, 'nmap', ['-sT', '-Pn', '-n', '-p', '2222,8080,9999', m.bed.sensorIp], {
      timeoutMs: 60_000,
    });
  };

  const settled = async (m: Member): Promise<void> => {
    let last = '';
    // eventually() returns the last falsy answer at its deadline: the assertion is what fails the test.
    const ok = await eventually(
      () => {
        const c = chCounts(m.id);
        const s = sqliteCounts(m.dataDir);
        last = `${m.id}: ClickHouse ${c.raw} (sessions, counted, attempts; raw sessions, attempts), SQLite ${JSON.stringify(s)}`;
        return (
          c.sessions === s.sessions && c.counted === s.sessions && c.attempts === s.attempts && s.sessions > 0
        );
      },
      // A shipper backs off up to 30 s between retries while ClickHouse is down.
      60_000,
      300,
    );
    assert.ok(ok, `counts did not converge: ${last}`);
  };

  before(async () => {
    ch = await startClickHouse();
    const relay = spawn('socat', [`UNIX-LISTEN:${sock},fork`, `TCP:127.0.0.1:${ch.httpPort}`], {
      stdio: 'ignore',
    });
    procs.push(relay);
    await eventually(() => existsSync(sock), 5000);
    for (let i = 0; i < N; i++) {
      const bed = await createTestbed();
      const m: Member = { bed, id: `sensor-${i}`, dataDir: tempDir('tw-fleet-s-') };
      members.push(m);
      bed.spawn(
        bed.sensorNs,
        'socat',
        ['TCP-LISTEN:8123,bind=127.0.0.1,fork,reuseaddr', `UNIX-CONNECT:${sock}`],
        {
          stdio: 'ignore',
        },
      );
      await start(m);
    }
  });

  after(async () => {
    for (const m of members) {
      await m.sensor?.stop().catch(() => {});
      await m.bed.destroy();
    }
    for (const p of procs) if (p.pid && p.exitCode === null) killTree(p.pid, 'SIGTERM');
    await ch?.stop();
  });

  test("known traffic: per-sensor counts in ClickHouse equal each sensor's SQLite; a hostile payload is kept byte-exact", async () => {
    await Promise.all(members.map((m, i) => traffic(m, i + 2, i === 0 ? HOSTILE : undefined)));
    for (const m of members) await settled(m);
    const hex = ch
      .client(`SELECT data FROM ${DB}.payloads WHERE position(unhex(data), 'DROP TABLE') > 0 FORMAT TSVRaw`)
      .trim();
    assert.equal(Buffer.from(hex, 'hex').toString('hex'), HOSTILE.toString('hex'));
  });

  test('ClickHouse stopped mid-run: batches wait in the spools and arrive once', async () => {
    await ch.halt();
    try {
      await Promise.all(members.map((m) => traffic(m, 2)));
      await new Promise((r) => setTimeout(r, 1500));
    } finally {
      await ch.resume();
    }
    for (const m of members) await settled(m);
  });

  test('a sensor SIGKILLed with batches in its spool: after a restart they arrive once', async () => {
    const m = members[N - 1]!;
    await ch.halt();
    try {
      await traffic(m, 3);
      const spool = join(m.dataDir, 'spool', 'clickhouse.spool');
      await eventually(() => existsSync(spool) && statSync(spool).size > 0, 15_000);
      // Killed once every session of that traffic is stored (its count unchanged for 2 s) and a second more
      // has passed: the shipper spools every 300 ms. A session the store holds but the shipper had not
      // spooled yet is lost to the kill by design, and would make the counts differ for another reason.
      let last = -1;
      await eventually(
        () => {
          const n = sqliteCounts(m.dataDir).sessions;
          const stable = n === last;
          last = n;
          return stable;
        },
        20_000,
        2_000,
      );
      await new Promise((r) => setTimeout(r, 1_000));
      await m.sensor!.stop('SIGKILL');
    } finally {
      await ch.resume();
    }
    await start(m);
    await settled(m);
  });

  test('tidewatch serve: /api/summary is the sum of the sensors, /api/sensors lists them, the payload shows exactly', async () => {
    const port = 20_000 + (process.pid % 20_000);
    const serve = spawn(
      process.execPath,
      [CLI, 'serve', '--clickhouse', ch.url(DB), '--http', `127.0.0.1:${port}`],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    procs.push(serve);
    const base = `http://127.0.0.1:${port}`;
    const get = async <T>(path: string): Promise<T> => {
      const r = await fetch(base + path);
      assert.equal(r.status, 200, path);
      return (await r.json()) as T;
    };
    await eventually(
      async () => (await fetch(base + '/api/sensors').catch(() => undefined))?.ok,
      20_000,
      200,
    );
    // Sessions that closed late (after the subtest that made them) must have arrived too.
    for (const m of members) await settled(m);
    const sum = members
      .map((m) => sqliteCounts(m.dataDir))
      .reduce((a, b) => ({
        sessions: a.sessions + b.sessions,
        attempts: a.attempts + b.attempts,
      }));
    const s = await get<{
      totals: { sessions: number; attempts: number };
      top_sources_by_sensors: { ip: string; sensors: number }[];
    }>('/api/summary?from=-2d');
    assert.equal(s.totals.sessions, sum.sessions);
    assert.equal(s.totals.attempts, sum.attempts);
    // Every bed's scanner is 198.18.0.2: one source seen by all three sensors.
    assert.deepEqual(s.top_sources_by_sensors[0], {
      ...s.top_sources_by_sensors[0],
      ip: '198.18.0.2',
      sensors: N,
    });
    const sensors = await get<{ sensor: string; sessions: number; state: string }[]>('/api/sensors');
    assert.deepEqual(
      sensors.map((x) => x.sensor),
      members.map((m) => m.id),
    );
    for (const x of sensors)
      assert.equal(x.sessions, sqliteCounts(members.find((m) => m.id === x.sensor)!.dataDir).sessions);
    const one = await get<{ total: number }>(`/api/sessions?sensor=${members[1]!.id}`);
    assert.equal(one.total, sqliteCounts(members[1]!.dataDir).sessions);
    const hostile = await get<{ rows: { payload: string }[] }>(
      `/api/sessions?text=${encodeURIComponent('DROP TABLE')}`,
    );
    // Sensor 0 got it twice (its nc sessions); stored once by hash, shown twice, byte for byte.
    assert.equal(hostile.rows.length, 2);
    for (const r of hostile.rows)
      assert.equal(Buffer.from(r.payload, 'base64').toString('hex'), HOSTILE.toString('hex'));
  });
});
