// Fleet benchmark on a real ClickHouse (Debian's 18.16, started as the tests start it):
// 1. shipping: events per second one sensor's shipper gets into ClickHouse (sessions with 200-byte payloads,
//    and probes counted into per-minute cells and daily rows), from the first event to an empty spool, and
//    its CPU per event, beside ClickHouse's own insert rate for the same rows through clickhouse-client in
//    the same run;
// 2. queries: the fleet /api/summary and a 30-day port series (ClickHouseQueryStore, in process) over N
//    sessions from 10 sensors spread over 30 days, generated inside ClickHouse (INSERT … SELECT FROM numbers,
//    through the same tables and materialized views the shipper fills).
// Usage: node dist/bench/fleet/run.js [--events 500000] [--sessions 100000000] [--runs 7]
//   [--server HTTP_PORT,TCP_PORT] [--skip-fill]: a running server.js instead of a fresh scratch server, and
//   its fleet_big database already filled by an earlier run.
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { createHash } from 'node:crypto';

import { EventBus } from '../../src/core/bus.js';
import type { SensorContext } from '../../src/core/context.js';
import { createLogger } from '../../src/core/log.js';
import { Stats } from '../../src/core/stats.js';
import { loadConfig } from '../../src/config/load.js';
import { BatchBuilder } from '../../src/export/clickhouse/batch.js';
import { BatchIds, decodeChunk, encodeChunk } from '../../src/export/clickhouse/chunks.js';
import { MAX_BATCH_ROWS, startClickHouseShipper } from '../../src/export/clickhouse/index.js';
import type { ProbeEvent, SessionEvent } from '../../src/core/events.js';
import { attemptOf } from '../../src/store/index.js';
import { openClient, parseClickHouseUrl } from '../../src/store/clickhouse/client.js';
import { ClickHouseQueryStore } from '../../src/store/clickhouse/queries.js';
import { migrate } from '../../src/store/clickhouse/schema.js';
import { CH_PASSWORD, CH_USER, CLICKHOUSE_CLIENT, startClickHouse } from '../../test/helpers/clickhouse.js';
import { tempDir } from '../../test/helpers/sensor.js';

const { values: argv } = parseArgs({
  options: {
    events: { type: 'string', default: '500000' },
    sessions: { type: 'string', default: '100000000' },
    runs: { type: 'string', default: '7' },
    server: { type: 'string' },
    'skip-fill': { type: 'boolean', default: false },
  },
});
const EVENTS = Number(argv.events);
const SESSIONS = Number(argv.sessions);
const RUNS = Number(argv.runs);
const DAY = 86_400_000;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

const payloads = Array.from({ length: 1000 }, (_, i) =>
  Buffer.from(`GET /${i} HTTP/1.1\r\nHost: x\r\n`.padEnd(200, 'A')),
);
const payloadB64 = payloads.map((p) => p.toString('base64'));
// What the intel stage puts on each session before the sinks see it (it hashes the kept bytes once).
const signatures = payloads.map((p) => ({
  template: 'http GET /<n>',
  sha256: createHash('sha256').update(p).digest('hex'),
}));

/** Event i of the run: probes and sessions with 200-byte payloads in turn, over the last hour. */
function eventAt(i: number, now: number): ProbeEvent | SessionEvent {
  const src = `198.18.${(i >> 8) & 255}.${i & 255}`;
  const time = now - (i % 3600) * 1000;
  if (i % 2 === 0)
    return {
      type: 'probe',
      time,
      via: 'listener',
      proto: 'tcp',
      kind: 'connect',
      src,
      dst: '198.18.0.1',
      sport: 40000,
      dport: 1 + (i % 1000),
    };
  const ts = new Date(time).toISOString();
  const p = i % payloads.length;
  return {
    type: 'session',
    ts,
    sensor: 'bench',
    proto: 'tcp',
    src,
    sport: 40000,
    dst: '198.18.0.1',
    dport: 1 + (i % 1000),
    started: ts,
    ended: ts,
    bytes: 200,
    truncated: false,
    close: 'fin',
    payloads: [{ index: 0, timestamp: ts, data: payloadB64[p]! }],
    signature: signatures[p]!,
  };
}

const cpuMs = (since: NodeJS.CpuUsage): number => {
  const c = process.cpuUsage(since);
  return (c.user + c.system) / 1000;
};

/** CPU the generator alone costs per event (emitted to a bus nobody listens to): subtracted below. */
function generatorCpuUs(now: number): number {
  const bus = new EventBus();
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < EVENTS; i++) bus.emit(eventAt(i, now));
  return (cpuMs(cpu0) * 1000) / EVENTS;
}

async function shipping(url: string, client: Client): Promise<void> {
  const flags = { 'data-dir': tempDir('tw-bench-fleet-'), geoip: 'off', sensor: 'bench', clickhouse: url };
  const cfg = loadConfig({ env: {}, flags });
  const ctx: SensorContext = { cfg, bus: new EventBus(), log: createLogger('silent'), stats: new Stats() };
  const shipper = await startClickHouseShipper(ctx);
  await shipper.drained();
  const now = Date.now();
  const genUs = generatorCpuUs(now);
  const [t0, cpu0] = [performance.now(), process.cpuUsage()];
  let maxSpool = 0;
  for (let i = 0; i < EVENTS; i++) {
    ctx.bus.emit(eventAt(i, now));
    if (i % 10_000 === 0) {
      maxSpool = Math.max(maxSpool, ctx.stats.get('clickhouse_spool_bytes'));
      await new Promise((r) => setImmediate(r));
    }
  }
  const spoolAtEnd = ctx.stats.get('clickhouse_spool_bytes');
  await shipper.drained();
  const s = (performance.now() - t0) / 1000;
  const usPerEvent = (cpuMs(cpu0) * 1000) / EVENTS - genUs;
  await shipper.close();
  const rows = ctx.stats.get('clickhouse_rows_sent_total');
  console.log(
    `shipper: ${fmt(EVENTS)} events (half sessions with 200-byte payloads, half probes) -> ${fmt(rows)} rows ` +
      `in ${s.toFixed(2)} s = ${fmt(EVENTS / s)} events/s, ${fmt(rows / s)} rows/s; shipper CPU ${usPerEvent.toFixed(2)} µs/event ` +
      `(= ${fmt(1e6 / usPerEvent)} events/s per core; generator's own ${genUs.toFixed(2)} µs/event taken off); ` +
      `batches ${ctx.stats.get('clickhouse_batches_total')} (insert time ${ctx.stats.get('clickhouse_insert_seconds_total').toFixed(1)} s), spool largest ${fmt(maxSpool)} B, ` +
      `at the last event ${fmt(spoolAtEnd)} B, dropped ${ctx.stats.get('clickhouse_rows_dropped_total')}; load ${loadavg()[0]!.toFixed(1)}`,
  );
  await reference(url, client, now, rows / s);
}

/** Reference: the same rows (the same events folded the same way) through clickhouse-client, table by table. */
async function reference(url: string, client: Client, now: number, shipperRowsPerS: number): Promise<void> {
  const ch = openClient(parseClickHouseUrl(url.replace(/fleet_bench$/, 'fleet_ref')));
  await migrate(ch, 'fleet_ref');
  await ch.close();
  const b = new BatchBuilder(new BatchIds(), { sensor: 'ref', maxPayloadBytes: 65536 });
  const byTable = new Map<string, { columns: string[]; data: Buffer[]; rows: number }>();
  const collect = (): void => {
    for (const c of b.take(now)) {
      const sc = decodeChunk(Buffer.from(encodeChunk(c)))!;
      const t = byTable.get(sc.table) ?? { columns: sc.columns, data: [], rows: 0 };
      t.data.push(sc.data);
      t.rows += sc.rows;
      byTable.set(sc.table, t);
    }
  };
  for (let i = 0; i < EVENTS; i++) {
    const ev = eventAt(i, now);
    if (ev.type === 'probe') b.addAttempt(attemptOf(ev));
    else b.addSession(ev);
    if (b.size >= MAX_BATCH_ROWS) collect();
  }
  collect();
  let rows = 0;
  const r0 = performance.now();
  for (const [table, t] of byTable) {
    client(
      `INSERT INTO fleet_ref.${table} (${t.columns.join(', ')}) FORMAT TabSeparated`,
      Buffer.concat(t.data),
    );
    rows += t.rows;
  }
  const rs = (performance.now() - r0) / 1000;
  console.log(
    `reference: clickhouse-client inserts the same ${fmt(rows)} rows, one INSERT per table, in ${rs.toFixed(2)} s = ` +
      `${fmt(rows / rs)} rows/s; shipper/reference ${(shipperRowsPerS / (rows / rs)).toFixed(2)}`,
  );
  client('DROP DATABASE IF EXISTS fleet_ref');
}

/**
 * Sessions over 30 days from 10 sensors, 1000 ports, a million sources (each seen by several sensors), 1000
 * payload hashes, generated inside ClickHouse; the matching per-minute counter rows (one attempt and one
 * session each) go through counter_rows and its views, as the shipper's would.
 */
function fill(db: string, client: Client, now: number): void {
  const start = Math.floor((now - 30 * DAY) / 1000);
  const t0 = performance.now();
  const sec = `(${start} + intDiv(number * ${30 * 86400}, ${SESSIONS}))`;
  // One UTC day per statement: every block the views see then writes one day partition, not thirty.
  const dayStart = (d: number): number => Math.ceil(((d * 86400 - start) * SESSIONS) / (30 * 86400));
  const first = Math.floor(start / 86400);
  for (let d = first; d <= first + 30; d++) {
    const off = Math.max(0, dayStart(d));
    const n = Math.min(SESSIONS, dayStart(d + 1)) - off;
    if (n <= 0) continue;
    client(`INSERT INTO ${db}.sessions SELECT concat('sensor-', toString(number % 10)) AS sensor,
      toDate(toDateTime(${sec})) AS day, number + 1 AS id, ${sec} * 1000 AS ts, ts AS ended, 'tcp' AS proto,
      concat('198.', toString(18 + intDiv(s, 65536) % 2), '.', toString(intDiv(s, 256) % 256), '.', toString(s % 256)) AS src,
      toUInt16(40000) AS sport, '198.18.0.1' AS dst, toUInt16(1 + (number * 7919) % 1000) AS dport, toUInt64(200) AS bytes,
      toUInt8(0) AS truncated, 'fin' AS close, hex(MD5(toString(number % 1000))) AS payload, '' AS tls, '' AS tags,
      '' AS cc, toUInt32(0) AS asn, '' AS org, '' AS extra, toUInt64(1) AS batch
      FROM (SELECT number, intHash32(number) % 1000000 AS s FROM numbers(${off}, ${n}))`);
    client(`INSERT INTO ${db}.counter_rows SELECT sensor, day, minute, proto, port, toUInt64(count()) AS all_n, all_n AS new_n,
      all_n AS sess_n, toUInt64(1) AS batch FROM (SELECT concat('sensor-', toString(number % 10)) AS sensor,
      toDate(toDateTime(${sec})) AS day, toUInt32(intDiv(${sec}, 60)) AS minute, toUInt8(arrayJoin([0, 2])) AS proto,
      if(proto = 2, toUInt16(0), toUInt16(1 + (number * 7919) % 1000)) AS port FROM numbers(${off}, ${n}))
      GROUP BY sensor, day, minute, proto, port`);
    process.stdout.write(`  ${fmt(off + n)} sessions, ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
  }
  console.log(
    `filled ${fmt(SESSIONS)} sessions from 10 sensors over 30 days in ${((performance.now() - t0) / 1000).toFixed(0)} s`,
  );
}

/** Rows and bytes on disk per table: the sizing figures of docs/fleet.md. */
function sizes(db: string, client: Client): void {
  const out = client(`SELECT table, sum(rows), sum(bytes_on_disk) FROM system.parts
    WHERE database = '${db}' AND active GROUP BY table ORDER BY sum(bytes_on_disk) DESC FORMAT TSV`);
  for (const line of out.trim().split('\n')) {
    const [table, rows, bytes] = line.split('\t');
    console.log(`  ${table}: ${fmt(Number(rows))} rows, ${(Number(bytes) / 2 ** 20).toFixed(0)} MiB`);
  }
}

async function queries(url: string, client: Client): Promise<void> {
  const db = 'fleet_big';
  const ch = openClient(parseClickHouseUrl(url));
  await migrate(ch, db);
  if (!argv['skip-fill']) fill(db, client, Date.now());
  // The range ends at the newest session, so a run on a database filled earlier queries the same data.
  const now = Number(client(`SELECT max(ts) + 1 FROM ${db}.sessions`).trim());
  sizes(db, client);
  const q = new ClickHouseQueryStore(ch, db);
  const time = async (fn: () => Promise<unknown>): Promise<number> => {
    const a = performance.now();
    await fn();
    return performance.now() - a;
  };
  const runs = async (fn: () => Promise<unknown>): Promise<number[]> => {
    await fn();
    const xs: number[] = [];
    for (let i = 0; i < RUNS; i++) xs.push(await time(fn));
    return xs;
  };
  const show = (xs: number[]): string =>
    `median ${median(xs).toFixed(0)} ms (min ${Math.min(...xs).toFixed(0)}, max ${Math.max(...xs).toFixed(0)})`;
  const load = (): string => `load ${loadavg()[0]!.toFixed(1)}`;
  const report = async (name: string, fn: () => Promise<unknown>): Promise<void> =>
    console.log(`${name}: ${show(await runs(fn))}, ${load()}`);
  await report('summary, last 24 h', () => q.summary({ from: now - DAY, to: now }));
  await report('summary, 30 days', () => q.summary({ from: now - 30 * DAY, to: now }));
  const series = (step: 'day' | 'hour') => () =>
    q.portSeries({ from: now - 30 * DAY, to: now, proto: 'tcp', port: 23, step });
  await report('port series, 30 days by day', series('day'));
  await report('port series, 30 days by hour', series('hour'));
  await report(
    'reference: count() of the raw sessions of the last 24 h through clickhouse-client',
    async () =>
      client(
        `SELECT count() FROM ${db}.sessions WHERE day >= toDate(${Math.floor((now - DAY) / 1000)}) AND ts >= ${now - DAY}`,
      ),
  );
  await ch.close();
}

type Client = (sql: string, input?: string | Buffer) => string;

/** A server started by server.js: its URLs and its clickhouse-client. */
function running(spec: string): { url: (db: string) => string; client: Client } {
  const [http, tcp] = spec.split(',').map(Number);
  if (!http || !tcp)
    throw new Error('--server wants HTTP_PORT,TCP_PORT as bench/fleet/server.js prints them');
  return {
    url: (db) => `http://${CH_USER}:${CH_PASSWORD}@127.0.0.1:${http}/${db}`,
    client: (q, input) =>
      execFileSync(CLICKHOUSE_CLIENT, ['--host', '127.0.0.1', '--port', String(tcp), '--query', q], {
        input: input ?? '',
        encoding: 'utf8',
        maxBuffer: 256 << 20,
      }),
  };
}

async function main(): Promise<void> {
  const server = argv.server ? undefined : await startClickHouse();
  const { url, client } = server ?? running(argv.server!);
  try {
    if (EVENTS > 0) {
      const ch = openClient(parseClickHouseUrl(url('fleet_bench')));
      await migrate(ch, 'fleet_bench');
      await ch.close();
      await shipping(url('fleet_bench'), client);
      client('DROP DATABASE IF EXISTS fleet_bench');
    }
    if (SESSIONS > 0) await queries(url('fleet_big'), client);
  } finally {
    await server?.stop();
  }
}

await main();
