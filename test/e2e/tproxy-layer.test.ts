// The tproxy layer alone (addon + nftables rules + routing) in a namespace test bed, driven by real nc
// clients from the scanner namespace; see tproxy-harness.ts for the recording session handler.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { eventually, REPO, tempDir } from '../helpers/sensor.js';
import { createTestbed, isRoot, type Testbed, withTestbed } from '../helpers/testbed.js';
import { addDecoyRoutes, firewallState, leftovers, ncTcp, ncUdp, startService } from './tproxy-helpers.js';

const HARNESS = join(REPO, 'dist/test/e2e/tproxy-harness.js');

interface Rec {
  proto?: string;
  src?: string;
  sport?: number;
  dst?: string;
  dport?: number;
  bytes?: number;
  data?: string;
  ready?: boolean;
  closed?: boolean;
}

/** Each JSON line the harness prints, parsed, in order. */
function onRecs(proc: ChildProcess, fn: (r: Rec) => void): void {
  let buf = '';
  proc.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const r = JSON.parse(buf.slice(0, i)) as Rec;
      buf = buf.slice(i + 1);
      fn(r);
    }
  });
}

/** All the process writes to stderr, read when needed. */
function stderrOf(proc: ChildProcess): () => string {
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  return () => err;
}

function startHarness(bed: Testbed, args: string[]): Promise<{ proc: ChildProcess; recs: Rec[] }> {
  const proc = bed.spawn(bed.sensorNs, process.execPath, [HARNESS, ...args]);
  const recs: Rec[] = [];
  const err = stderrOf(proc);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`harness not ready: ${err()}`)), 15_000);
    proc.on('exit', (code) => reject(new Error(`harness exited ${code}: ${err()}`)));
    onRecs(proc, (r) => {
      recs.push(r);
      if (r.ready) {
        clearTimeout(timer);
        resolve({ proc, recs });
      }
    });
  });
}

function exited(proc: ChildProcess): Promise<number | string | null> {
  if (proc.exitCode !== null || proc.signalCode !== null)
    return Promise.resolve(proc.exitCode ?? proc.signalCode);
  return new Promise((r) => proc.on('exit', (c, s) => r(c ?? s)));
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

/** SIGTERM: the harness exits 0 and leaves no table, rule or route behind. */
async function stopClean(bed: Testbed, proc: ChildProcess): Promise<void> {
  proc.kill('SIGTERM');
  assert.equal(await exited(proc), 0);
  assert.deepEqual(leftovers(await firewallState(bed)), []);
}

test(
  'tproxy layer: original destinations over TCP and UDP, IPv4 and IPv6, decoys; local services untouched; rules removed on SIGTERM',
  { skip: !isRoot() && 'needs root' },
  async () => {
    await withTestbed(async (bed) => {
      await addDecoyRoutes(bed);
      // Real services started before tidewatch: a TCP echo-ish banner on 7777 and a UDP receiver on 7778.
      startService(bed, 7777, 'real-service\n');
      const udpSvc = bed.spawn(bed.sensorNs, 'socat', ['-u', 'UDP-RECV:7778', 'STDOUT']);
      let udpSvcOut = '';
      udpSvc.stdout!.on('data', (d: Buffer) => (udpSvcOut += d.toString()));
      await eventually(
        async () =>
          ((o) => o.includes(':7777') && o.includes(':7778'))(
            (await bed.exec(bed.sensorNs, 'ss', ['-Hltnu'])).stdout,
          ),
        5000,
      );
      const { proc, recs } = await startHarness(bed, [
        '--tproxy-port',
        '39999',
        '--bufsize',
        '1000',
        '--exclude-ports',
        '9999',
      ]);

      // TCP: decoy v4, the sensor's own address, decoy v6, the sensor's own v6 address.
      const cases: [string, number, string][] = [
        ['198.18.1.5', 8443, 'tcp-decoy4'],
        [bed.sensorIp, 12345, 'tcp-own4'],
        ['2001:2:1::7', 443, 'tcp-decoy6'],
        [bed.sensorIp6, 2222, 'tcp-own6'],
      ];
      for (const [host, port, msg] of cases)
        assert.equal(await ncTcp(bed, host, port, msg), 'ok\n', `${host} ${port}`);
      const udp: [string, number, string][] = [
        ['198.18.1.9', 161, 'udp-decoy4'],
        [bed.sensorIp, 5060, 'udp-own4'],
        ['2001:2:1::9', 53, 'udp-decoy6'],
        [bed.sensorIp6, 1900, 'udp-own6'],
      ];
      for (const [host, port, msg] of udp) await ncUdp(bed, host, port, msg);
      // A maximal IPv4 datagram: the full size is recorded, the first --bufsize bytes kept.
      await bed.exec(bed.scannerNs, process.execPath, [
        '-e',
        "const d=require('dgram').createSocket('udp4');d.send(Buffer.alloc(65507,97),4444,'198.18.1.10',()=>d.close())",
      ]);
      await eventually(() => recs.filter((r) => r.proto).length >= 9, 10_000);
      const rec = (proto: string, msg: string) => recs.find((r) => r.proto === proto && r.data === b64(msg));
      for (const [host, port, msg] of cases) {
        const r = rec('tcp', msg);
        assert.ok(r, msg);
        assert.equal(r.dst, host);
        assert.equal(r.dport, port);
        assert.equal(r.src, host.includes(':') ? bed.scannerIp6 : bed.scannerIp);
      }
      for (const [host, port, msg] of udp) {
        const r = rec('udp', msg);
        assert.ok(r, msg);
        assert.equal(r.dst, host);
        assert.equal(r.dport, port);
        assert.equal(r.src, host.includes(':') ? bed.scannerIp6 : bed.scannerIp);
        assert.equal(r.bytes, msg.length);
      }
      const big = recs.find((r) => r.dport === 4444)!;
      assert.equal(big.bytes, 65507);
      assert.equal(big.data, b64('a'.repeat(1000)));

      // The real services still get their traffic; tidewatch records none of it.
      assert.equal(await ncTcp(bed, bed.sensorIp, 7777, 'hi'), 'real-service\n');
      await ncUdp(bed, bed.sensorIp, 7778, 'to-real-udp');
      assert.ok(
        await eventually(() => udpSvcOut.includes('to-real-udp'), 5000),
        'UDP service got its datagram',
      );
      // --exclude-ports: not taken (nothing listens there: the kernel refuses the connection).
      assert.equal(await ncTcp(bed, bed.sensorIp, 9999, 'excluded'), '');
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(recs.filter((r) => [7777, 7778, 9999].includes(r.dport ?? 0)).length, 0);

      // The sensor host's own outgoing traffic still works: a TCP connection and a UDP query from an
      // unconnected socket (as resolvers do) get their answers, none of which is taken.
      bed.spawn(bed.scannerNs, process.execPath, [
        '-e',
        "require('net').createServer((s)=>s.end('tcp-answer')).listen(8081);" +
          "const u=require('dgram').createSocket('udp4');u.on('message',(m,r)=>u.send('udp-answer',r.port,r.address));u.bind(5353)",
      ]);
      await new Promise((r) => setTimeout(r, 500));
      const outgoing = await bed.exec(bed.sensorNs, process.execPath, [
        '-e',
        `const c=require('net').connect(8081,'${bed.scannerIp}');let t='';c.on('data',(d)=>t+=d);` +
          "c.on('end',()=>{const u=require('dgram').createSocket('udp4');" +
          `u.on('message',(m)=>{console.log(t+' '+m);process.exit(0)});u.send('q',5353,'${bed.scannerIp}')});` +
          'setTimeout(()=>process.exit(3),5000)',
      ]);
      assert.equal(outgoing.stdout.trim(), 'tcp-answer udp-answer', outgoing.stderr);
      assert.ok(!recs.some((r) => r.dport === 5353 || r.sport === 5353 || r.sport === 8081));

      const during = await firewallState(bed);
      assert.equal(leftovers(during).length, 3, 'table, rules and routes are installed while running');
      await stopClean(bed, proc);
    });
  },
);

test(
  'tproxy layer: after SIGKILL the rules stay; the next start cleans them first and its stop removes all',
  { skip: !isRoot() && 'needs root' },
  async () => {
    await withTestbed(async (bed) => {
      await addDecoyRoutes(bed);
      const first = await startHarness(bed, ['--tproxy-port', '39999']);
      first.proc.kill('SIGKILL');
      await exited(first.proc);
      assert.equal(leftovers(await firewallState(bed)).length, 3, 'a killed process cannot clean up');
      // A second set of leftovers (two crashes in a row) must be cleaned too.
      await bed.exec(bed.sensorNs, 'ip', [
        'rule',
        'add',
        'pref',
        '29815',
        'fwmark',
        '0x7477',
        'lookup',
        '29815',
      ]);

      const second = await startHarness(bed, [
        '--tproxy-port',
        '39999',
        '--tproxy-dst',
        '198.18.1.0/24,2001:2:1::/64',
      ]);
      const state = await firewallState(bed);
      assert.equal(state.rules.match(/0x7477/g)?.length, 2, `one rule per family:\n${state.rules}`);
      assert.equal(await ncTcp(bed, '198.18.1.200', 80, 'after-crash'), 'ok\n');
      // --tproxy-dst: the sensor's own address is outside the given CIDRs: refused by the kernel, not taken.
      assert.equal(await ncTcp(bed, bed.sensorIp, 80, 'not-taken'), '');
      await ncUdp(bed, '2001:2:1::1', 69, 'v6-in-dst');
      await eventually(() => second.recs.some((r) => r.dport === 69), 5000);
      assert.ok(second.recs.some((r) => r.dst === '198.18.1.200' && r.dport === 80));
      assert.ok(!second.recs.some((r) => r.data === b64('not-taken')));
      // A service started while tidewatch runs gets its port from its first connection (the socket
      // rule), and its port joins the excluded set at the next re-scan (5 s).
      startService(bed, 7790, 'late-service\n');
      assert.ok(
        await eventually(
          async () => (await bed.exec(bed.sensorNs, 'ss', ['-Hltn'])).stdout.includes(':7790'),
          5000,
        ),
      );
      assert.equal(await ncTcp(bed, bed.sensorIp6, 7790, 'late?'), 'late-service\n');
      assert.equal(await ncTcp(bed, bed.sensorIp, 7790, 'late?'), 'late-service\n');
      const inSet = await eventually(
        async () =>
          /\b7790\b/.test(
            (await bed.exec(bed.sensorNs, 'nft', ['list', 'set', 'inet', 'tidewatch_tproxy', 'tcp_excluded']))
              .stdout,
          ),
        12_000,
        500,
      );
      assert.ok(inSet, 'the re-scan did not add the late service to tcp_excluded');
      await stopClean(bed, second.proc);
    });
  },
);

test(
  'tproxy layer: on a forwarding host, routed traffic is not taken unless --tproxy-dst names it',
  { skip: !isRoot() && 'needs root' },
  async () => {
    await withTestbed(async (bed) => {
      await addDecoyRoutes(bed);
      const f = await bed.exec(bed.sensorNs, 'sysctl', ['-w', 'net.ipv4.ip_forward=1']);
      assert.equal(f.code, 0, f.stderr);
      const any = await startHarness(bed, ['--tproxy-port', '39999']);
      assert.equal(await ncTcp(bed, bed.sensorIp, 8080, 'own'), 'ok\n');
      // Routed on (and refused: the sensor has no route onward), never diverted.
      assert.equal(await ncTcp(bed, '198.18.1.5', 8080, 'routed'), '');
      assert.ok(!any.recs.some((r) => r.data === b64('routed')));
      any.proc.kill('SIGTERM');
      assert.equal(await exited(any.proc), 0);

      const named = await startHarness(bed, ['--tproxy-port', '39999', '--tproxy-dst', '198.18.1.0/24']);
      assert.equal(await ncTcp(bed, '198.18.1.5', 8080, 'decoy'), 'ok\n');
      assert.ok(named.recs.some((r) => r.dst === '198.18.1.5' && r.data === b64('decoy')));
      await stopClean(bed, named.proc);
    });
  },
);

test(
  'tproxy layer: out of file descriptors it sheds, keeps running and accepts again',
  { skip: !isRoot() && 'needs root' },
  async () => {
    await withTestbed(async (bed) => {
      const proc = bed.spawn(bed.sensorNs, 'prlimit', [
        '--nofile=256:256',
        process.execPath,
        HARNESS,
        '--tproxy-port',
        '39999',
      ]);
      const recs: Rec[] = [];
      onRecs(proc, (r) => recs.push(r));
      assert.ok(await eventually(() => recs.some((r) => r.ready), 15_000), 'harness ready');
      // 400 connections held open against 256 descriptors (the harness keeps each for 3 s).
      await bed.exec(bed.scannerNs, process.execPath, [
        '-e',
        `const net=require('net');for(let i=0;i<400;i++){const s=net.connect(8000+i,'${bed.sensorIp}',()=>s.write('x'));s.on('error',()=>{})}` +
          'setTimeout(()=>process.exit(0),4000)',
      ]);
      const held = recs.filter((r) => r.proto === 'tcp').length;
      assert.ok(held > 100 && held < 400, `recorded ${held} of 400`);
      assert.equal(proc.exitCode, null, 'still running');
      assert.equal(await ncTcp(bed, bed.sensorIp, 9999, 'after'), 'ok\n');
      await stopClean(bed, proc);
    });
  },
);

test(
  'tproxy layer: without nft the start stops with TW_ERR_FIREWALL naming the fix, and leaves no routing behind',
  { skip: !isRoot() && 'needs root' },
  async () => {
    const bed = await createTestbed();
    const bin = tempDir('tw-nonft-');
    try {
      symlinkSync('/usr/sbin/ip', join(bin, 'ip'));
      const proc = bed.spawn(bed.sensorNs, process.execPath, [HARNESS, '--tproxy-port', '39999'], {
        env: { ...process.env, PATH: `${bin}:/usr/bin:/bin` },
      });
      const err = stderrOf(proc);
      assert.equal(await exited(proc), 1);
      assert.match(err(), /TW_ERR_FIREWALL/);
      assert.match(err(), /install nftables \(apt-get install nftables\)/);
      assert.deepEqual(leftovers(await firewallState(bed)), []);
    } finally {
      await bed.destroy();
      rmSync(bin, { recursive: true, force: true });
    }
  },
);

test(
  'tproxy layer: without CAP_NET_ADMIN the start stops with a line naming the fix, and changes nothing',
  { skip: !isRoot() && 'needs root' },
  async () => {
    await withTestbed(async (bed) => {
      const proc = bed.spawn(bed.sensorNs, 'setpriv', [
        '--inh-caps=-net_admin,-net_raw',
        '--bounding-set=-net_admin,-net_raw',
        process.execPath,
        HARNESS,
        '--tproxy-port',
        '39999',
      ]);
      const err = stderrOf(proc);
      assert.equal(await exited(proc), 1);
      assert.match(err(), /TW_ERR_LISTEN/);
      assert.match(err(), /transparent sockets need root or CAP_NET_ADMIN/);
      assert.deepEqual(leftovers(await firewallState(bed)), []);
    });
  },
);
