// A real store fed real events through the bus, with the web server in front of it on a free loopback port:
// the sensor's SQLite store in a temp data dir, or (backend 'clickhouse') the ClickHouse shipper writing into
// a real ClickHouse server and the fleet store reading it back, as `tidewatch serve` does. Used by the web
// API contract test (both backends), the browser tests and the web benchmark.
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../../src/config/load.js';
import { EventBus } from '../../src/core/bus.js';
import type { SensorContext } from '../../src/core/context.js';
import type { AnyEvent, SessionEvent } from '../../src/core/events.js';
import { createLogger } from '../../src/core/log.js';
import { Stats } from '../../src/core/stats.js';
import { startClickHouseShipper } from '../../src/export/clickhouse/index.js';
import { openClickHouseStore } from '../../src/store/clickhouse/index.js';
import { openStore } from '../../src/store/index.js';
import type { QueryStore } from '../../src/store/query.js';
import type { ClickHouseServer } from '../helpers/clickhouse.js';
import { createWebServer, type WebServer } from '../../src/web/server.js';
import { tempDir } from '../helpers/sensor.js';

export const HOSTILE = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=1</script>';

export interface WebFixture {
  ctx: SensorContext;
  store: { readonly query: QueryStore; close(): Promise<void>; drained?(): Promise<void> };
  /** Resolves once what was emitted so far is readable from the store. */
  settled(): Promise<void>;
  web: WebServer;
  base: string;
  /** GET with the fixture's Host header; returns status, headers and body text. */
  get(
    path: string,
    headers?: Record<string, string>,
  ): Promise<{ status: number; headers: Headers; text: string }>;
  json<T = Record<string, unknown>>(path: string): Promise<T>;
  close(): Promise<void>;
}

let databases = 0;

export async function startFixture(
  opts: {
    token?: string;
    store?: boolean;
    clickhouse?: ClickHouseServer;
    sensor?: string;
    /** Shared by fixtures that make one fleet (default: a database of its own). */
    database?: string;
  } = {},
): Promise<WebFixture> {
  const dataDir = tempDir('tw-web-');
  const ch = opts.clickhouse && {
    clickhouse: opts.clickhouse.url(opts.database ?? `web${process.pid}_${databases++}`),
    'clickhouse-flush': '100ms',
  };
  const cfg = loadConfig({
    env: {},
    flags: { 'data-dir': dataDir, geoip: 'off', sensor: opts.sensor ?? 'test', ...ch },
  });
  const bus = new EventBus();
  const ctx: SensorContext = { cfg, bus, log: createLogger('silent'), stats: new Stats() };
  const store = await storeFor(ctx);
  const web = createWebServer({
    host: '127.0.0.1',
    port: 0,
    ...(opts.token !== undefined && { token: opts.token }),
    ...(opts.store !== false && { store: store.query }),
    metrics: { render: async () => ({ contentType: 'text/plain; version=0.0.4', body: 'tidewatch_up 1\n' }) },
    bus,
    log: ctx.log,
    stats: ctx.stats,
  });
  const addr: AddressInfo = await web.listen();
  const base = `http://127.0.0.1:${addr.port}`;
  const get: WebFixture['get'] = async (path, headers = {}) => {
    const res = await fetch(base + path, { headers, redirect: 'manual' });
    return { status: res.status, headers: res.headers, text: await res.text() };
  };
  return {
    ctx,
    store,
    web,
    base,
    get,
    settled: async () => store.drained?.(),
    async json<T>(path: string) {
      const r = await get(path);
      if (r.status !== 200) throw new Error(`${path}: ${r.status} ${r.text}`);
      return JSON.parse(r.text) as T;
    },
    async close() {
      await web.close();
      await store.close();
    },
  };
}

/** SQLite as the sensor keeps it, or the ClickHouse shipper and the fleet store over the same server. */
async function storeFor(ctx: SensorContext): Promise<WebFixture['store']> {
  if (!ctx.cfg.clickhouse) return (await openStore(ctx, { flushMs: 10 }))!;
  const fleet = await openClickHouseStore(ctx);
  const shipper = await startClickHouseShipper(ctx);
  return {
    query: fleet.query,
    drained: () => shipper.drained(),
    async close() {
      await shipper.close();
      await fleet.close();
    },
  };
}

export function session(over: Partial<SessionEvent> & { data?: Buffer }): SessionEvent {
  const now = Date.now();
  const data = over.data ?? Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  const { data: _d, ...rest } = over;
  return {
    type: 'session',
    ts: new Date(now).toISOString(),
    sensor: 'test',
    proto: 'tcp',
    src: '198.18.0.2',
    sport: 40000,
    dst: '198.18.0.1',
    dport: 8080,
    started: new Date(now - 50).toISOString(),
    ended: new Date(now).toISOString(),
    bytes: data.length,
    truncated: false,
    close: 'fin',
    payloads: [{ index: 0, timestamp: new Date(now).toISOString(), data: data.toString('base64') }],
    ...rest,
  };
}

/** Sessions, attempts, a scan, a spike and a block, as the sensor's components emit them. */
export function feed(bus: EventBus, now = Date.now()): void {
  const emit = (e: AnyEvent): void => bus.emit(e);
  const probe = (src: string, dport: number, t: number, proto: 'tcp' | 'udp' = 'tcp'): void =>
    emit({
      type: 'probe',
      time: t,
      via: 'listener',
      proto,
      kind: proto === 'tcp' ? 'connect' : 'udp',
      src,
      dst: '198.18.0.1',
      sport: 40000,
      dport,
      handshake: true,
    });
  for (let i = 0; i < 20; i++) probe('198.18.0.2', 8080, now - i * 60_000);
  for (let i = 0; i < 5; i++) probe('198.18.0.3', 23, now - i * 3_600_000);
  probe('2001:2::2', 443, now - 1000);
  probe('198.18.0.2', 53, now - 2000, 'udp');
  emit(session({ src: '198.18.0.2', dport: 8080 }));
  emit(session({ src: '198.18.0.2', dport: 8080, data: Buffer.from(HOSTILE) }));
  emit(
    session({ src: '198.18.0.3', dport: 23, data: Buffer.from([0xff, 0xfb, 0x01, 0x00, 0x41, 0x42, 0x7f]) }),
  );
  emit(
    session({
      src: '2001:2::2',
      dport: 443,
      proto: 'tls',
      data: Buffer.from('160301', 'hex'),
      tls: { version: 'TLSv1.3', sni: HOSTILE, alpn: ['h2'], ja3: '771,4865,0,,', ja4: 't13d0101h2_abc_def' },
    }),
  );
  emit(session({ src: '198.18.0.2', dport: 53, proto: 'udp', data: Buffer.from('abcd') }));
  const iso = (t: number): string => new Date(t).toISOString();
  emit({
    type: 'scan',
    ts: iso(now),
    sensor: 'test',
    id: 'scan-1',
    state: 'open',
    src: '198.18.0.3',
    kind: 'vertical',
    probe: 'syn',
    ports: 100,
    hosts: 1,
    probes: 100,
    window_s: 300,
    first_seen: iso(now - 60_000),
    last_seen: iso(now),
    tool: 'nmap',
    handshake_completed: false,
    action: 'logged',
  });
  emit({
    type: 'spike',
    ts: iso(now - 30_000),
    sensor: 'test',
    proto: 'tcp',
    dport: 8080,
    interval_s: 60,
    count: 20,
    baseline: { mean: 1, sd: 0.5, method: 'ewma' },
    score: 38,
  });
  emit({
    type: 'block',
    ts: iso(now),
    sensor: 'test',
    action: 'added',
    src: '198.18.0.3',
    until: iso(now + 3_600_000),
    reason: 'vertical scan',
  });
}
