// The shipper against a real ClickHouse (test/helpers/clickhouse.ts): rows arrive with the sensor id,
// payloads once per hash, a retried chunk is stored once, and an outage loses nothing and doubles nothing.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { request } from 'node:http';
import { after, before, test } from 'node:test';

import { loadConfig } from '../../config/load.js';
import { EventBus } from '../../core/bus.js';
import type { SensorContext } from '../../core/context.js';
import { createLogger } from '../../core/log.js';
import { Stats } from '../../core/stats.js';
import { openClient, parseClickHouseUrl } from '../../store/clickhouse/client.js';
import { migrate } from '../../store/clickhouse/schema.js';
import {
  CH_PASSWORD,
  CH_USER,
  startClickHouse,
  type ClickHouseServer,
} from '../../../test/helpers/clickhouse.js';
import { eventually, tempDir } from '../../../test/helpers/sensor.js';
import { feed, HOSTILE } from '../../../test/e2e/web-fixture.js';
import { BatchBuilder } from './batch.js';
import { BatchIds, decodeChunk, encodeChunk, type Chunk, type SpooledChunk } from './chunks.js';
import { startClickHouseShipper } from './index.js';
import { queryIdOf, sendChunk } from './sender.js';

let server: ClickHouseServer;
before(async () => {
  server = await startClickHouse();
});
after(() => server?.stop());

function context(db: string, dataDir = tempDir('tw-ship-'), sensor = 's1'): SensorContext {
  const cfg = loadConfig({
    env: {},
    flags: {
      'data-dir': dataDir,
      geoip: 'off',
      sensor,
      clickhouse: server.url(db, { password: false }),
      'clickhouse-password': 'tw-test-password',
      'clickhouse-flush': '200ms',
    },
  });
  return { cfg, bus: new EventBus(), log: createLogger('silent'), stats: new Stats() };
}

const count = (sql: string): number => Number(server.client(sql).trim());

test('every event type arrives with its sensor; payloads are stored once per hash, byte-exact', async () => {
  const ctx = context('ship1');
  const shipper = await startClickHouseShipper(ctx);
  feed(ctx.bus);
  feed(ctx.bus);
  await shipper.drained();
  await shipper.close();
  assert.equal(count('SELECT count() FROM ship1.sessions'), 10);
  assert.equal(count("SELECT count() FROM ship1.sessions WHERE sensor != 's1'"), 0);
  // Five distinct payloads, each sent once though every one was seen twice.
  assert.equal(count('SELECT count() FROM ship1.payloads'), 5);
  const hostile = server.client(
    `SELECT data FROM ship1.payloads WHERE hash = '${Buffer.from(
      await crypto.subtle.digest('SHA-256', Buffer.from(HOSTILE)),
    ).toString('hex')}' FORMAT TSVRaw`,
  );
  assert.equal(Buffer.from(hostile.trim(), 'hex').toString(), HOSTILE);
  // 27 attempts per feed, each counted once into the minute, hour and day rollups.
  assert.equal(count('SELECT sum(new_n) FROM ship1.counters_min WHERE proto = 2'), 54);
  assert.equal(count('SELECT sum(new_n) FROM ship1.counters_day WHERE proto = 2'), 54);
  assert.equal(count('SELECT sum(sess_n) FROM ship1.counters_hour WHERE proto = 2'), 10);
  assert.equal(count('SELECT count() FROM ship1.spikes'), 2);
  assert.equal(count('SELECT count() FROM ship1.blocks'), 2);
  assert.ok(count('SELECT count() FROM ship1.heartbeats') >= 1);
  assert.equal(ctx.stats.get('clickhouse_rows_dropped_total'), 0);
  assert.ok(ctx.stats.get('clickhouse_rows_sent_total') > 40);
});

/** A chunk as the pump reads it back from the spool. */
const spooled = (c: Chunk): SpooledChunk => decodeChunk(Buffer.from(encodeChunk(c) + '\n'))!;

test('a chunk sent again after an unclear failure is stored once, counters included', async () => {
  const ch = openClient(parseClickHouseUrl(server.url('ship2')));
  await migrate(ch, 'ship2');
  const b = new BatchBuilder(new BatchIds(), { sensor: 's1', maxPayloadBytes: 8192 });
  const now = Date.now();
  const day = 86_400_000;
  // Attempts on two UTC days: two chunks per table, one per day partition.
  for (const t of [now, now - day, now - day])
    b.addAttempt({ time: t, proto: 'tcp', src: '198.18.0.2', dst: '198.18.0.1', dport: 22, isNew: true });
  const chunks = b.take(now).map(spooled);
  const counters = chunks.filter((c) => c.table === 'counter_rows');
  assert.equal(counters.length, 2);
  for (const c of counters) assert.equal(await sendChunk(ch, 'ship2', c, false), 2);
  for (const c of counters) assert.equal(await sendChunk(ch, 'ship2', c, true), 0);
  // Today's insert lost (as if it died before the server wrote it): only that chunk goes again.
  const today = new Date(now).toISOString().slice(0, 10);
  server.client(`ALTER TABLE ship2.counter_rows DROP PARTITION '${today}'`);
  server.client(`ALTER TABLE ship2.counters_min DROP PARTITION '${today}'`);
  const sent = [];
  for (const c of counters) sent.push(await sendChunk(ch, 'ship2', c, true));
  assert.deepEqual(sent.sort(), [0, 2]);
  assert.equal(count('SELECT sum(new_n) FROM ship2.counters_min WHERE proto = 0 AND port = 22'), 3);
  for (const c of chunks) await sendChunk(ch, 'ship2', c, true);
  assert.equal(count('SELECT sum(count) FROM ship2.daily'), 3);
  await ch.close();
});

test('an earlier attempt still running in the server when the retry comes: the retry waits, rows stored once', async () => {
  const ch = openClient(parseClickHouseUrl(server.url('ship4')));
  await migrate(ch, 'ship4');
  const b = new BatchBuilder(new BatchIds(), { sensor: 's1', maxPayloadBytes: 8192 });
  const now = Date.now();
  const PORTS = 60_000;
  for (let port = 1; port <= PORTS; port++)
    b.addAttempt({ time: now, proto: 'tcp', src: '198.18.0.2', dst: '198.18.0.1', dport: port, isNew: true });
  const chunk = spooled(b.take(now).find((c) => c.table === 'counter_rows')!);
  const body = chunk.data;
  // The earlier attempt, as the server sees one the client gave up on: its query runs under the chunk's id
  // and is still reading rows. (The server reads the first MiB or so before it registers a query.)
  const qs = new URLSearchParams({
    user: CH_USER,
    password: CH_PASSWORD,
    query_id: queryIdOf(chunk),
    query: `INSERT INTO ship4.counter_rows (${chunk.columns.join(', ')}) FORMAT TabSeparated`,
  });
  const early = request({ host: '127.0.0.1', port: server.httpPort, method: 'POST', path: `/?${qs}` });
  const answered = once(early, 'response');
  answered.catch(() => undefined);
  const cut = body.indexOf(0x0a, 3 << 19);
  assert.ok(cut > 0 && cut < body.length - 1);
  try {
    early.write(body.subarray(0, cut + 1));
    const running = await eventually(
      () => count(`SELECT count() FROM system.processes WHERE query_id = '${queryIdOf(chunk)}'`) === 1,
      10_000,
    );
    assert.ok(running, 'the earlier attempt is running in the server');
    // Its rows are not there yet, so the check finds nothing; the server refuses a second run of the id.
    await assert.rejects(sendChunk(ch, 'ship4', chunk, true), /already running/);
    early.end(body.subarray(cut + 1));
    const [res] = (await answered) as [{ statusCode: number; resume(): void }];
    res.resume();
    assert.equal(res.statusCode, 200);
    // The next retry finds the rows and sends nothing: every attempt counted once, in the rollups too.
    assert.equal(await sendChunk(ch, 'ship4', chunk, true), 0);
    assert.equal(count('SELECT sum(new_n) FROM ship4.counters_min WHERE proto = 2'), PORTS);
    assert.equal(count('SELECT count() FROM ship4.counter_rows WHERE proto = 0'), PORTS);
  } finally {
    early.destroy();
    await ch.close();
  }
});

test('ClickHouse down: batches wait in the spool and arrive once; a restarted sensor resumes its spool', async () => {
  const dataDir = tempDir('tw-ship-');
  const ctx = context('ship3', dataDir);
  const first = await startClickHouseShipper(ctx);
  await first.drained();
  await server.halt();
  try {
    feed(ctx.bus);
    await new Promise((r) => setTimeout(r, 1500));
    assert.ok(ctx.stats.get('clickhouse_retries_total') >= 1);
    assert.ok(ctx.stats.get('clickhouse_spool_bytes') > 0);
    // Stop while the server is down: the spool stays on disk.
    await first.close();
  } finally {
    await server.resume();
  }
  const again = context('ship3', dataDir);
  const second = await startClickHouseShipper(again);
  feed(again.bus);
  await second.drained();
  await second.close();
  assert.equal(count('SELECT count() FROM ship3.sessions'), 10);
  assert.equal(count('SELECT sum(new_n) FROM ship3.counters_min WHERE proto = 2'), 54);
  assert.equal(count('SELECT sum(new_n) FROM ship3.counters_hour WHERE proto = 2'), 54);
});
