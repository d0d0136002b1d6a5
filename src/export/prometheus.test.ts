import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startMetrics } from './prometheus.js';
import { metricName } from './prometheus-stats.js';
import { PortCounts } from './prometheus-ports.js';
import { loadConfig } from '../config/load.js';
import { EventBus } from '../core/bus.js';
import type { SensorContext } from '../core/context.js';
import type { ProbeEvent, SessionEvent } from '../core/events.js';
import { createLogger } from '../core/log.js';
import { Stats } from '../core/stats.js';

const ctxWith = (flags: Record<string, string> = {}): SensorContext => ({
  cfg: loadConfig({ flags, env: {} }),
  bus: new EventBus(),
  log: createLogger('fatal'),
  stats: new Stats(),
});

const probe = (
  dport: number,
  proto: 'tcp' | 'udp' = 'tcp',
  via: ProbeEvent['via'] = 'capture',
): ProbeEvent => ({
  type: 'probe',
  time: 0,
  via,
  proto,
  kind: proto === 'udp' ? 'udp' : 'syn',
  src: '198.18.0.2',
  dst: '198.18.0.1',
  sport: 1,
  dport,
});

test('PortCounts labels at most N ports, keeps labels, sums the rest as other', () => {
  const pc = new PortCounts(2);
  for (let i = 0; i < 5; i++) pc.inc('tcp', 22);
  for (let i = 0; i < 3; i++) pc.inc('udp', 53);
  pc.inc('tcp', 80);
  pc.inc('tcp', 70000); // ignored
  assert.deepEqual(pc.series(), [
    { proto: 'tcp', port: '22', count: 5 },
    { proto: 'udp', port: '53', count: 3 },
    { proto: 'tcp', port: 'other', count: 1 },
  ]);
  for (let i = 0; i < 10; i++) pc.inc('tcp', 443);
  const s = pc.series();
  assert.equal(s.length, 3, 'label set is fixed once full');
  assert.deepEqual(s.at(-1), { proto: 'tcp', port: 'other', count: 11 });
});

test('render exposes labelled bus metrics, every stats counter and process metrics', async () => {
  const ctx = ctxWith({ capture: 'eth0', 'metrics-top-ports': '3' });
  const m = await startMetrics(ctx);
  const { bus, stats } = ctx;
  for (let p = 1; p <= 10; p++) bus.emit(probe(p));
  for (let i = 0; i < 5; i++) bus.emit(probe(22));
  bus.emit(probe(53, 'udp'));
  bus.emit(probe(9999, 'tcp', 'listener')); // capture runs: listener probes not counted twice
  const session: SessionEvent = {
    ts: '',
    sensor: 't',
    type: 'session',
    proto: 'tls',
    src: '198.18.0.2',
    sport: 1,
    dst: '198.18.0.1',
    dport: 443,
    started: '',
    ended: '',
    bytes: 517,
    truncated: false,
    close: 'rst',
    payloads: [],
  };
  bus.emit(session);
  bus.emit({
    ts: '',
    sensor: 't',
    type: 'packets',
    interval_s: 60,
    packets: 30,
    malformed: 0,
    tcp: { all: { '22': 20 }, syn: {} },
    udp: { '53': 5 },
    ip_protocols: { '6': 20, '17': 5, '1': 4, '47': 1 },
    ethertypes: {},
    drops: { kernel: 7, ifdrop: 0, evicted_sources: 2 },
  });
  const scanBase = {
    ts: '',
    sensor: 't',
    type: 'scan' as const,
    id: 'x',
    src: '198.18.0.2',
    kind: 'vertical' as const,
    ports: 20,
    hosts: 1,
    probes: 20,
    window_s: 300,
    first_seen: '',
    last_seen: '',
    handshake_completed: false,
    action: 'logged' as const,
  };
  bus.emit({ ...scanBase, state: 'open', probe: 'syn', tool: 'masscan' });
  bus.emit({ ...scanBase, state: 'update', probe: 'syn', tool: 'masscan' });
  bus.emit({ ...scanBase, state: 'open', probe: 'fin', tool: 'bad tool"name' });
  bus.emit({
    ts: '',
    sensor: 't',
    type: 'spike',
    proto: 'tcp',
    dport: 23,
    interval_s: 3600,
    count: 50,
    baseline: { mean: 1, sd: 1, method: 'ewma' },
    score: 9,
  });
  bus.emit({ ts: '', sensor: 't', type: 'block', action: 'added', src: '198.18.0.2', reason: 'x' });
  stats.inc('listener_shed_total', 4);
  stats.set('blocks_active', 2);
  stats.inc('weird-name.total');
  const { body, contentType } = await m.render();
  assert.match(contentType, /text\/plain/);
  const has = (re: RegExp) => assert.match(body, re);
  has(/^tidewatch_connection_attempts_total\{proto="tcp",port="22"\} 5$/m);
  has(/^tidewatch_connection_attempts_total\{proto="tcp",port="other"\} 8$/m);
  has(/^tidewatch_connection_attempts_total\{proto="udp",port="other"\} 1$/m);
  assert.doesNotMatch(body, /port="9999"/);
  assert.equal((body.match(/^tidewatch_connection_attempts_total\{.*port="\d+"/gm) ?? []).length, 3);
  has(/^tidewatch_sessions_total\{proto="tls"\} 1$/m);
  has(/^tidewatch_session_bytes_total\{proto="tls"\} 517$/m);
  has(/^tidewatch_packets_total\{proto="tcp"\} 20$/m);
  has(/^tidewatch_packets_total\{proto="icmp"\} 4$/m);
  has(/^tidewatch_packets_total\{proto="other"\} 1$/m);
  has(/^tidewatch_capture_drops_total\{reason="kernel"\} 7$/m);
  assert.doesNotMatch(body, /reason="evicted_sources"/);
  has(/^tidewatch_scans_total\{tool="masscan",probe="syn"\} 1$/m);
  has(/^tidewatch_scans_total\{tool="bad_tool_name",probe="fin"\} 1$/m);
  has(/^tidewatch_spikes_total\{proto="tcp"\} 1$/m);
  has(/^tidewatch_block_events_total\{action="added"\} 1$/m);
  has(/^# TYPE tidewatch_listener_shed_total counter$/m);
  has(/^tidewatch_listener_shed_total 4$/m);
  has(/^# TYPE tidewatch_blocks_active gauge$/m);
  has(/^tidewatch_blocks_active 2$/m);
  has(/^tidewatch_weird_name_total 1$/m);
  has(/^tidewatch_bus_subscriber_errors_total 0$/m);
  has(/^tidewatch_process_cpu_user_seconds_total /m);
  has(/^tidewatch_nodejs_eventloop_lag_seconds /m);
  // Counters from stats follow the stats value across scrapes.
  stats.inc('listener_shed_total');
  assert.match((await m.render()).body, /^tidewatch_listener_shed_total 5$/m);
  await m.close();
  assert.equal(metricName('a.b-c'), 'tidewatch_a_b_c');
});

test('without capture, connection attempts come from the listener', async () => {
  const ctx = ctxWith();
  const m = await startMetrics(ctx);
  ctx.bus.emit(probe(80, 'tcp', 'listener'));
  ctx.bus.emit(probe(81, 'tcp', 'capture'));
  const { body } = await m.render();
  assert.match(body, /^tidewatch_connection_attempts_total\{proto="tcp",port="80"\} 1$/m);
  assert.doesNotMatch(body, /port="81"/);
  await m.close();
});
