// Fleet benchmark on a real ClickHouse (Debian's 18.16, started as the tests start it):
// 1. shipping: events per second one sensor's shipper gets into ClickHouse (sessions with 200-byte payloads,
//    and probes counted into per-minute cells and daily rows), from the first event to an empty spool, beside
//    ClickHouse's own insert rate for the same session rows through clickhouse-client in the same run;
// 2. queries: the fleet /api/summary and a 30-day port series (ClickHouseQueryStore, in process) over N
//    sessions from 10 sensors spread over 30 days, generated inside ClickHouse (INSERT … SELECT FROM numbers,
//    through the same tables and materialized views the shipper fills).
// Usage: node dist/bench/fleet/run.js [--events 500000] [--sessions 100000000] [--runs 7]
import { parseArgs } from 'node:util';

import { EventBus } from '../../src/core/bus.js';
import type { SensorContext } from '../../src/core/context.js';
import { createLogger } from '../../src/core/log.js';
import { Stats } from '../../src/core/stats.js';
import { loadConfig } from '../../src/config/load.js';
import { startClickHouseShipper } from '../../src/export/clickhouse/index.js';
import { openClient, parseClickHouseUrl } from '../../src/store/clickhouse/client.js';
import { ClickHouseQueryStore } from '../../src/store/clickhouse/queries.js';
import { migrate } from '../../src/store/clickhouse/schema.js';
import { startClickHouse } from '../../test/helpers/clickhouse.js';
import { tempDir } from '../../test/helpers/sensor.js';

const { values: argv } = parseArgs({
  options: {
    events: { type: 'string', default: '500000' },
    sessions: { type: 'string', default: '100000000' },
    runs: { type: 'string', default: '7' },
  },
});
const EVENTS = Number(argv.events);
const SESSIONS = Number(argv.sessions);
const RUNS = Number(argv.runs);
const DAY = 86_400_000;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

const payloads = Array.from({ length: 1000 }, (_, i) =>
  Buffer.from(`GET /${i} HTTP/1.1\r\nHost: x\r\n`.padEnd(200, 'A')).toString('base64'),
);

async function shipping(url: string, client: (sql: string, input?: string) => string): Promise<void> {
  const flags = { 'data-dir': tempDir('tw-bench-fleet-'), geoip: 'off', sensor: 'bench', clickhouse: url };
  const cfg = loadConfig({ env: {}, flags });
  const ctx: SensorContext = { cfg, bus: new EventBus(), log: createLogger('silent'), stats: new Stats() };
  const shipper = await startClickHouseShipper(ctx);
  await shipper.drained();
  const sessions = Math.floor(EVENTS / 2);
  const [t0, cpu0, now] = [performance.now(), process.cpuUsage(), Date.now()];
  let maxSpool = 0;
  for (let i = 0; i < EVENTS; i++) {
    const src = `198.18.${(i >> 8) & 255}.${i & 255}`;
    const ts = new Date(now - (i % 3600) * 1000).toISOString();
    if (i % 2 === 0)
      ctx.bus.emit({
        type: 'probe',
        time: now - (i % 3600) * 1000,
        via: 'listener',
        proto: 'tcp',
        kind: 'connect',
        src,
        dst: '198.18.0.1',
        sport: 40000,
        dport: 1 + (i % 1000),
      });
    else
      ctx.bus.emit({
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
        payloads: [{ index: 0, timestamp: ts, data: payloads[i % payloads.length]! }],
      });
    if (i % 10_000 === 0) {
      maxSpool = Math.max(maxSpool, ctx.stats.get('clickhouse_spool_bytes'));
      await new Promise((r) => setImmediate(r));
    }
  }
  await shipper.drained();
  const s = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await shipper.close();
  console.log(
    `shipper: ${fmt(EVENTS)} events (${fmt(sessions)} sessions with 200-byte payloads, ${fmt(EVENTS - sessions)} probes) ` +
      `in ${s.toFixed(2)} s = ${fmt(EVENTS / s)} events/s; sensor CPU ${(((cpu.user + cpu.system) / 1e6 / EVENTS) * 1e6).toFixed(2)} µs/event; ` +
      `rows sent ${fmt(ctx.stats.get('clickhouse_rows_sent_total'))}, batches ${ctx.stats.get('clickhouse_batches_total')}, ` +
      `largest spool seen ${fmt(maxSpool)} B, dropped ${ctx.stats.get('clickhouse_rows_dropped_total')}`,
  );
  reference(client, sessions, now);
}

/** Reference: the same number of session rows straight into ClickHouse through its own client. */
function reference(client: (sql: string, input?: string) => string, sessions: number, now: number): void {
  const row = (i: number): string =>
    JSON.stringify({
      sensor: 'ref',
      day: new Date(now).toISOString().slice(0, 10),
      id: i + 1,
      ts: now,
      ended: now,
      proto: 'tcp',
      src: `198.18.${(i >> 8) & 255}.${i & 255}`,
      sport: 40000,
      dst: '198.18.0.1',
      dport: 1 + (i % 1000),
      bytes: 200,
      truncated: 0,
      close: 'fin',
      payload: 'a'.repeat(64),
      tls: '',
      tags: '',
      cc: '',
      asn: 0,
      org: '',
      extra: '',
      batch: 1,
    });
  const text = Array.from({ length: sessions }, (_, i) => row(i)).join('\n') + '\n';
  const r0 = performance.now();
  client('INSERT INTO fleet_bench.sessions FORMAT JSONEachRow', text);
  const rs = (performance.now() - r0) / 1000;
  console.log(
    `reference: clickhouse-client inserts the same ${fmt(sessions)} session rows in ${rs.toFixed(2)} s = ${fmt(sessions / rs)} rows/s`,
  );
}

async function queries(url: string, client: (sql: string) => string): Promise<void> {
  const db = 'fleet_big';
  const ch = openClient(parseClickHouseUrl(url));
  await migrate(ch, db);
  const now = Date.now();
  const start = Math.floor((now - 30 * DAY) / 1000);
  const t0 = performance.now();
  // Sessions over 30 days from 10 sensors, 1000 ports, a million sources, 1000 payload hashes; the matching
  // per-minute counter rows (one attempt and one session each) go through counter_rows and its views.
  const step = 10_000_000;
  for (let off = 0; off < SESSIONS; off += step) {
    const n = Math.min(step, SESSIONS - off);
    client(`INSERT INTO ${db}.sessions SELECT concat('sensor-', toString(number % 10)) AS sensor,
      toDate(toDateTime(${start} + intDiv(number * ${30 * 86400}, ${SESSIONS}))) AS day, number + 1 AS id,
      (${start} + intDiv(number * ${30 * 86400}, ${SESSIONS})) * 1000 AS ts, ts AS ended, 'tcp' AS proto,
      concat('198.', toString(18 + intDiv(number % 1000000, 65536) % 2), '.', toString(intDiv(number % 1000000, 256) % 256), '.', toString(number % 256)) AS src,
      toUInt16(40000) AS sport, '198.18.0.1' AS dst, toUInt16(1 + (number * 7919) % 1000) AS dport, toUInt64(200) AS bytes,
      toUInt8(0) AS truncated, 'fin' AS close, hex(MD5(toString(number % 1000))) AS payload, '' AS tls, '' AS tags,
      '' AS cc, toUInt32(0) AS asn, '' AS org, '' AS extra, toUInt64(1) AS batch FROM numbers(${off}, ${n})`);
    client(`INSERT INTO ${db}.counter_rows SELECT sensor, day, minute, proto, port, toUInt64(count()) AS all_n, all_n AS new_n,
      all_n AS sess_n, toUInt64(1) AS batch FROM (SELECT concat('sensor-', toString(number % 10)) AS sensor,
      toDate(toDateTime(${start} + intDiv(number * ${30 * 86400}, ${SESSIONS}))) AS day,
      toUInt32(intDiv(${start} + intDiv(number * ${30 * 86400}, ${SESSIONS}), 60)) AS minute, toUInt8(arrayJoin([0, 2])) AS proto,
      if(proto = 2, toUInt16(0), toUInt16(1 + (number * 7919) % 1000)) AS port FROM numbers(${off}, ${n}))
      GROUP BY sensor, day, minute, proto, port`);
  }
  client(`OPTIMIZE TABLE ${db}.counters_min`);
  console.log(
    `filled ${fmt(SESSIONS)} sessions from 10 sensors over 30 days in ${((performance.now() - t0) / 1000).toFixed(0)} s`,
  );
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
  const sum = await runs(() => q.summary({ from: now - DAY, to: now }));
  const sum30 = await runs(() => q.summary({ from: now - 30 * DAY, to: now }));
  const series = await runs(() =>
    q.portSeries({ from: now - 30 * DAY, to: now, proto: 'tcp', port: 23, step: 'day' }),
  );
  const seriesH = await runs(() =>
    q.portSeries({ from: now - 30 * DAY, to: now, proto: 'tcp', port: 23, step: 'hour' }),
  );
  const ref = await runs(async () => client(`SELECT count() FROM ${db}.sessions WHERE ts >= ${now - DAY}`));
  const show = (xs: number[]): string =>
    `median ${median(xs).toFixed(0)} ms (min ${Math.min(...xs).toFixed(0)}, max ${Math.max(...xs).toFixed(0)})`;
  console.log(`summary, last 24 h: ${show(sum)}`);
  console.log(`summary, 30 days: ${show(sum30)}`);
  console.log(`port series, 30 days by day: ${show(series)}; by hour: ${show(seriesH)}`);
  console.log(
    `reference: count() of the raw sessions of the last 24 h through clickhouse-client: ${show(ref)}`,
  );
  await ch.close();
}

async function main(): Promise<void> {
  const server = await startClickHouse();
  try {
    const ch = openClient(parseClickHouseUrl(server.url('fleet_bench')));
    await migrate(ch, 'fleet_bench');
    await ch.close();
    await shipping(server.url('fleet_bench'), server.client);
    if (SESSIONS > 0) await queries(server.url('fleet_big'), server.client);
  } finally {
    await server.stop();
  }
}

await main();
