// Shared by the detect unit tests: a config with defaults, probe builders and an event collector.
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import type { ProbeEvent, ProbeKind, ScanEvent, SessionEvent } from '../core/events.js';
import { Stats } from '../core/stats.js';
import { ScanDetector, type ScanDetectorOptions } from './scan-detector.js';

export const T0 = Date.UTC(2026, 0, 1, 0, 0, 0);

export function testConfig(over: Partial<Config> = {}): Config {
  return { ...loadConfig({ env: {} }), sensor: 'test', ...over };
}

export function probe(
  src: string,
  dst: string,
  dport: number,
  time: number,
  kind: ProbeKind = 'syn',
  over: Partial<ProbeEvent> = {},
): ProbeEvent {
  return {
    type: 'probe',
    time,
    via: 'capture',
    proto: kind === 'udp' ? 'udp' : 'tcp',
    kind,
    src,
    dst,
    sport: 40000,
    dport,
    ...over,
  };
}

export function session(src: string, sport: number, bytes: number, ended: number): SessionEvent {
  return {
    ts: new Date(ended).toISOString(),
    sensor: 'test',
    type: 'session',
    proto: 'tcp',
    src,
    sport,
    dst: '198.18.0.1',
    dport: 80,
    started: new Date(ended - 100).toISOString(),
    ended: new Date(ended).toISOString(),
    bytes,
    truncated: false,
    close: 'fin',
    payloads: [],
  };
}

export function makeDetector(
  over: Partial<Config> = {},
  opts: Partial<ScanDetectorOptions> = {},
): { det: ScanDetector; events: ScanEvent[]; stats: Stats; clock: { now: number } } {
  const events: ScanEvent[] = [];
  const stats = new Stats();
  const clock = { now: T0 };
  const det = new ScanDetector({
    cfg: testConfig(over),
    stats,
    countVia: 'capture',
    emit: (e) => events.push(e),
    now: () => clock.now,
    ...opts,
  });
  return { det, events, stats, clock };
}
