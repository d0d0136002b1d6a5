// Enrichment from the shipped data: known ranges read in the CSV and mmdb, IPv6, private addresses, the
// built range tables answering as the package data does on a sample of addresses, and no network use
// (every socket, datagram and DNS entry point is watched while loading and looking up).
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import dns from 'node:dns';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';

import { EventBus } from '../core/bus.js';
import { isReservedAddress } from '../core/addresses.js';
import type { SensorContext } from '../core/context.js';
import type { ScanEvent, SessionEvent } from '../core/events.js';
import { createLogger } from '../core/log.js';
import { Stats } from '../core/stats.js';
import { parseAsnLine } from './asn.js';
import { GeoDb } from './geo.js';
import { sampleAgainstPackageData } from './geo-reference.fixture.js';
import { startEnricher } from './index.js';
import { parseIp } from './ip.js';

const network: string[] = [];
const restore: (() => void)[] = [];
function watch<T extends object>(obj: T, key: keyof T & string, label: string): void {
  const orig = obj[key] as unknown as (...a: unknown[]) => unknown;
  (obj as Record<string, unknown>)[key] = function (this: unknown, ...a: unknown[]) {
    network.push(label);
    return orig.apply(this, a);
  };
  restore.push(() => ((obj as Record<string, unknown>)[key] = orig));
}

describe('geo data from npm packages', () => {
  const db = new GeoDb();
  before(async () => {
    watch(net.Socket.prototype, 'connect', 'net.connect');
    watch(dgram.Socket.prototype, 'send', 'dgram.send');
    watch(dns, 'lookup', 'dns.lookup');
    watch(dns.promises, 'lookup', 'dns.promises.lookup');
    watch(dns, 'resolve', 'dns.resolve');
    db.load();
  });
  after(() => {
    restore.forEach((r) => r());
    db.close();
  });

  it('knows addresses from ranges in the shipped data', () => {
    // asn-ipv4.csv: 8.8.8.0,8.8.8.255,15169,Google LLC
    assert.deepEqual(db.lookup('8.8.8.8'), { cc: 'US', asn: 15169, org: 'Google LLC' });
    // 193.0.0.0,193.0.7.255,3333,Reseaux IP Europeens Network Coordination Centre (RIPE NCC)
    assert.deepEqual(db.lookup('193.0.6.139'), {
      cc: 'NL',
      asn: 3333,
      org: 'Reseaux IP Europeens Network Coordination Centre (RIPE NCC)',
    });
    // 1.0.0.0,1.0.0.255,13335,"Cloudflare, Inc." (a quoted organisation with a comma)
    assert.deepEqual(db.lookup('1.0.0.1'), { cc: 'AU', asn: 13335, org: 'Cloudflare, Inc.' });
  });

  it('knows IPv6 and IPv4-mapped addresses', () => {
    // asn-ipv6.csv: 2001:67c:2e8::,2001:67c:2e8:ffff:ffff:ffff:ffff:ffff,3333,...
    assert.deepEqual(db.lookup('2001:67c:2e8:22::c100:68b'), {
      cc: 'NL',
      asn: 3333,
      org: 'Reseaux IP Europeens Network Coordination Centre (RIPE NCC)',
    });
    // 2001:4860::,2001:4860:4804:ffff:...,15169,Google LLC (range edges: first and last address)
    assert.equal(db.lookup('2001:4860::')?.asn, 15169);
    assert.equal(db.lookup('2001:4860:4804:ffff:ffff:ffff:ffff:ffff')?.asn, 15169);
    assert.equal(db.lookup('2001:4860:4805::1')?.asn, 43515);
    assert.deepEqual(db.lookup('::ffff:8.8.8.8'), db.lookup('8.8.8.8'));
  });

  it('gives nothing for private, reserved, test-bed and malformed addresses', () => {
    for (const ip of [
      '10.1.2.3',
      '192.168.1.1',
      '172.16.0.1',
      '127.0.0.1',
      '100.64.0.1',
      '169.254.1.1',
      '198.18.0.2',
      '198.19.255.255',
      '224.0.0.1',
      '::1',
      '::',
      'fe80::1',
      'fd00::1',
      '2001:2::2',
      '2001:db8::1',
      'ff02::1',
      'not-an-ip',
      '',
      '8.8.8.8.8',
    ])
      assert.equal(db.lookup(ip), undefined, ip);
  });

  it('answers as the package data (mmdb reader, CSV ranges) on a sample of addresses and range edges', () => {
    const { checked, differences } = sampleAgainstPackageData((ip) => db.lookup(ip), 4000);
    assert.ok(checked > 20_000, `${checked} addresses checked`);
    assert.deepEqual(differences.slice(0, 10), []);
  });

  it('caches per address and used no network', () => {
    const before = db.stats.hits;
    db.lookup('8.8.8.8');
    db.lookup('8.8.8.8');
    assert.equal(db.stats.hits - before, 2);
    assert.deepEqual(network, []);
  });
});

describe('address parsing and CSV lines', () => {
  it('parses IPv6 forms to the same number', () => {
    const a = parseIp('2001:db8:0:0:0:0:0:1');
    const b = parseIp('2001:db8::1');
    assert.deepEqual(a, b);
    assert.deepEqual(parseIp('::ffff:1.2.3.4'), { v: 4, n: 0x01020304 });
    assert.equal(parseIp('1.2.3'), undefined);
    assert.equal(isReservedAddress('198.20.0.1'), false);
  });
  it('reads quoted organisations', () => {
    assert.deepEqual(parseAsnLine('35309568,35313663,201907,"LLC ""SPUTNIK"""'), {
      start: '35309568',
      end: '35313663',
      asn: 201907,
      org: 'LLC "SPUTNIK"',
    });
    assert.equal(parseAsnLine('garbage'), undefined);
  });
});

describe('startEnricher', () => {
  it('adds geo to sessions and scans on the bus, not to private sources', async () => {
    const bus = new EventBus();
    const stats = new Stats();
    const ctx: SensorContext = {
      cfg: {} as SensorContext['cfg'],
      bus,
      log: createLogger('silent'),
      stats,
    };
    const c = await startEnricher(ctx);
    try {
      // The tables are open once startEnricher has returned: the first events get their geo.
      assert.equal(stats.get('enrich_loaded'), 1);
      const ts = new Date().toISOString();
      const session = (src: string): SessionEvent => ({
        type: 'session',
        ts,
        sensor: 't',
        proto: 'tcp',
        src,
        sport: 1234,
        dst: '198.18.0.1',
        dport: 22,
        started: ts,
        ended: ts,
        bytes: 0,
        truncated: false,
        close: 'fin',
        payloads: [],
      });
      const pub = session('8.8.8.8');
      const priv = session('198.18.0.2');
      bus.emit(pub);
      bus.emit(priv);
      assert.deepEqual(pub.geo, { cc: 'US', asn: 15169, org: 'Google LLC' });
      assert.equal(priv.geo, undefined);
      const scan = { type: 'scan', src: '193.0.6.139' } as ScanEvent;
      bus.emit(scan);
      assert.equal(scan.geo?.asn, 3333);
      assert.equal(c.lookup('1.0.0.1')?.cc, 'AU');
    } finally {
      await c.close();
    }
  });
});
