// JavaScript CPU per session on the sensor's event path, without sockets: the real `startSensor` wiring
// (annotators, sessions JSON lines sink, events sink, daily CSV, metrics, detectors, campaigns; listener,
// capture, store, web and GeoIP off as in bench/listener) fed the probe and session events the listener
// emits for each connection, built from engine-like records by core/session-event.ts. Beside it, in the same
// run: the same session records only built and serialised (JSON.stringify), the floor of writing a line.
// Shows where the listener's per-connection JS goes; bench/listener gives the whole-process figure.
// Usage: node dist/bench/listener/pipeline.js [--sessions 100000] [--rounds 5] [--payload 100]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/core/log.js';
import { sessionEvent, type SessionRecord } from '../../src/core/session-event.js';
import { startSensor } from '../../src/sensor.js';
import { sessionRecord } from '../../src/store/sessions-sink.js';

const { values: a } = parseArgs({
  options: {
    sessions: { type: 'string', default: '100000' },
    rounds: { type: 'string', default: '5' },
    payload: { type: 'string', default: '100' },
  },
});
const SESSIONS = Math.min(Number(a.sessions), 1_000_000);
const ROUNDS = Math.min(Number(a.rounds), 20);
/** Sessions per turn of the event loop: one engine batch at the load client's 64 connections in flight. */
const BATCH = 64;

// bench/listener's payload: 100 bytes of a..z ending in a newline, from 127.0.0.1 to one port.
const payload = Buffer.alloc(Number(a.payload), 0);
for (let i = 0; i < payload.length; i++) payload[i] = 97 + (i % 26);
if (payload.length) payload[payload.length - 1] = 10;

function record(i: number): SessionRecord {
  const t = Date.now();
  return {
    proto: 'tcp',
    src: '127.0.0.1',
    sport: 1024 + (i % 60000),
    dst: '127.0.0.1',
    dport: 20000,
    started: t - 1,
    ended: t,
    bytes: payload.length,
    truncated: false,
    close: 'fin',
    payloads: [{ time: t, data: payload }],
  };
}

const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
const cpuUs = (): number => {
  const u = process.cpuUsage();
  return u.user + u.system;
};
const turn = () => new Promise((r) => setImmediate(r));

const dataDir = mkdtempSync(join(tmpdir(), 'tw-bench-pipeline-'));
const cfg = loadConfig({
  flags: {
    'data-dir': dataDir,
    sensor: 'bench',
    listen: 'off',
    http: 'off',
    store: 'off',
    geoip: 'off',
  },
});
const sensor = await startSensor(cfg, createLogger('warn'));
const { bus, stats } = sensor.ctx;

/** CPU µs per session through the sensor's subscribers (the listener's emits, as in sessions.ts). */
async function throughSensor(n: number): Promise<number> {
  const c0 = cpuUs();
  for (let i = 0; i < n; i += BATCH) {
    for (let j = i; j < Math.min(n, i + BATCH); j++) {
      const r = record(j);
      stats.inc('listener_sessions_total');
      bus.emit({
        type: 'probe',
        time: r.started,
        via: 'listener',
        proto: 'tcp',
        kind: 'connect',
        src: r.src,
        dst: r.dst,
        sport: r.sport,
        dport: r.dport,
        handshake: true,
      });
      bus.emit(sessionEvent(cfg.sensor, r));
    }
    await turn();
  }
  return (cpuUs() - c0) / n;
}

/** The floor: the same event built and its line serialised, nothing else. */
async function serialiseOnly(n: number): Promise<number> {
  const c0 = cpuUs();
  let bytes = 0;
  for (let i = 0; i < n; i += BATCH) {
    for (let j = i; j < Math.min(n, i + BATCH); j++)
      bytes += JSON.stringify(sessionRecord(sessionEvent(cfg.sensor, record(j)))).length;
    await turn();
  }
  if (bytes === 0) throw new Error('nothing serialised');
  return (cpuUs() - c0) / n;
}

const full: number[] = [];
const floor: number[] = [];
await throughSensor(Math.min(SESSIONS, 20_000)); // warm-up: JIT, files opened
for (let r = 0; r < ROUNDS; r++) {
  full.push(await throughSensor(SESSIONS));
  floor.push(await serialiseOnly(SESSIONS));
  console.log(
    `round ${r + 1}: sensor ${full[r]!.toFixed(2)} µs/session, build+stringify ${floor[r]!.toFixed(2)}`,
  );
}
await sensor.close();
const written = stats.get('sessions_written_total');
const emitted = SESSIONS * ROUNDS + Math.min(SESSIONS, 20_000);
rmSync(dataDir, { recursive: true, force: true });
console.log(
  `JS CPU per session, median of ${ROUNDS} x ${SESSIONS}: sensor event path ${median(full).toFixed(2)} µs, ` +
    `build + JSON.stringify only ${median(floor).toFixed(2)} µs (ratio ${(median(full) / median(floor)).toFixed(2)}); ` +
    `JSON lines written ${written} of ${emitted}`,
);
if (written !== emitted) process.exitCode = 1;
