// Listener scenarios with real clients in the scanner namespace, parametrised by where the listener is
// reached (address, ports), so ports mode and tproxy mode run the same checks. Every scenario asserts on the
// JSON lines the sensor wrote: addresses, ports, payload bytes exact.
//
// The sensor under test must run with --idle-timeout 2s (silent clients and TLS clients that wait for an
// answer end by idle timeout) and --bufsize given as `bufsize` below; the parallel scenario needs
// --max-sessions 500 on its own sensor.
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { readdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { eventually, readJsonLines, type RunningSensor } from '../helpers/sensor.js';
import type { Testbed } from '../helpers/testbed.js';

/** The log line with a given msg, parsed. */
export function logLine(logs: string[], msg: string): Record<string, unknown> | undefined {
  for (const l of logs) {
    try {
      const o = JSON.parse(l) as Record<string, unknown>;
      if (o.msg === msg) return o;
    } catch {
      /* not JSON */
    }
  }
  return undefined;
}

export const SCENARIO_SENSOR_ARGS = ['--idle-timeout', '2s', '--max-session', '20s', '--respond', 'off'];

export interface ListenerTarget {
  bed: Testbed;
  sensor: RunningSensor;
  /** IPv4 and IPv6 addresses the scanner connects to; records must name them as the destination. */
  host4: string;
  host6: string;
  /** Ports that reach the listener (scenarios pick random ones). */
  tcpPorts: number[];
  udpPorts: number[];
  /** --bufsize of the sensor. */
  bufsize: number;
}

export interface SessionRecord {
  timestamp: string;
  flow: { proto: 'tcp' | 'tls' | 'udp'; src: string; sport: number; dst: string; dport: number };
  payloads: { index: number; timestamp: string; data: string }[];
  ts: string;
  sensor: string;
  type: string;
  close: string;
  bytes: number;
  truncated: boolean;
  started: string;
  ended: string;
  tls?: { version: string; sni?: string; alpn?: string[]; ja3: string; ja3_hash?: string; ja4: string };
}

export const pick = (ports: number[]): number => ports[randomInt(ports.length)]!;
export const payloadOf = (r: SessionRecord): Buffer =>
  Buffer.concat(r.payloads.map((p) => Buffer.from(p.data, 'base64')));
export const records = (t: ListenerTarget): SessionRecord[] =>
  readJsonLines<SessionRecord>(join(t.sensor.dataDir, 'sessions'));

/** Waits until a record matching `match` is written (the file is written in batches). */
export async function findRecord(
  t: ListenerTarget,
  match: (r: SessionRecord) => boolean,
  timeoutMs = 10_000,
): Promise<SessionRecord> {
  const r = await eventually(() => records(t).find(match), timeoutMs);
  assert.ok(r, 'no session record matched');
  return r;
}

const token = (what: string) => `${what}-${randomBytes(6).toString('hex')}`;
const bracket = (h: string) => (h.includes(':') ? `[${h}]` : h);

/** Runs a Node.js client script in the scanner namespace (for clients nc cannot play). */
export async function nodeClient(t: ListenerTarget, script: string, timeoutMs = 30_000): Promise<string> {
  const r = await t.bed.exec(t.bed.scannerNs, process.execPath, ['-e', script], { timeoutMs });
  assert.equal(r.code, 0, `client failed: ${r.stderr}`);
  return r.stdout;
}

function checkCommon(t: ListenerTarget, r: SessionRecord, dst: string, dport: number, src: string): void {
  assert.equal(r.flow.src, src);
  assert.equal(r.flow.dst, dst);
  assert.equal(r.flow.dport, dport);
  assert.ok(r.flow.sport > 0 && r.flow.sport < 65536);
  assert.equal(r.type, 'session');
  assert.equal(r.sensor, 'test');
  assert.ok(Array.isArray(r.payloads));
  assert.equal(r.timestamp, r.started);
  assert.ok(Date.parse(r.started) <= Date.parse(r.ended));
  r.payloads.forEach((p, i) => {
    assert.equal(p.index, i);
    assert.ok(!Number.isNaN(Date.parse(p.timestamp)));
  });
}

export async function ncTcp(t: ListenerTarget, family: 4 | 6 = 4): Promise<void> {
  const port = pick(t.tcpPorts);
  const host = family === 4 ? t.host4 : t.host6;
  const data = token('nc-tcp') + '\n';
  await t.bed.exec(t.bed.scannerNs, 'nc', [`-${family}`, '-N', '-w', '5', host, String(port)], {
    input: data,
  });
  const r = await findRecord(t, (x) => payloadOf(x).toString() === data);
  checkCommon(t, r, host, port, family === 4 ? t.bed.scannerIp : t.bed.scannerIp6);
  assert.equal(r.flow.proto, 'tcp');
  assert.equal(r.bytes, data.length);
  assert.equal(r.truncated, false);
  assert.equal(r.close, 'fin');
}

export async function ncUdp(t: ListenerTarget, family: 4 | 6 = 4): Promise<void> {
  const port = pick(t.udpPorts);
  const host = family === 4 ? t.host4 : t.host6;
  const data = token('nc-udp') + '\n';
  await t.bed.exec(t.bed.scannerNs, 'nc', [`-${family}`, '-u', '-w', '1', host, String(port)], {
    input: data,
  });
  const r = await findRecord(t, (x) => payloadOf(x).toString() === data);
  checkCommon(t, r, host, port, family === 4 ? t.bed.scannerIp : t.bed.scannerIp6);
  assert.equal(r.flow.proto, 'udp');
  assert.equal(r.bytes, data.length);
  assert.equal(r.truncated, false);
}

/** A large datagram: kept whole up to --bufsize, never cut at 2048 bytes (tcppc-go's bug). */
export async function udpLarge(t: ListenerTarget): Promise<void> {
  const port = pick(t.udpPorts);
  const size = 60_000;
  const out = await nodeClient(
    t,
    `const s=require('dgram').createSocket('udp4');const b=Buffer.alloc(${size},'u');` +
      `require('crypto').randomFillSync(b,0,16);s.send(b,${port},'${t.host4}',()=>{console.log(b.subarray(0,16).toString('hex'));s.close()})`,
  );
  const head = Buffer.from(out.trim(), 'hex');
  const r = await findRecord(t, (x) => payloadOf(x).subarray(0, 16).equals(head));
  assert.equal(r.flow.proto, 'udp');
  assert.equal(r.bytes, size);
  const kept = Math.min(size, t.bufsize);
  assert.equal(payloadOf(r).length, kept);
  assert.equal(r.truncated, size > t.bufsize);
}

export async function opensslSni(t: ListenerTarget, port = pick(t.tcpPorts)): Promise<SessionRecord> {
  const sni = `${token('sni')}.example`;
  const req = `GET /${token('tls')} HTTP/1.0\r\nHost: ${sni}\r\n\r\n`;
  await t.bed.exec(
    t.bed.scannerNs,
    'openssl',
    ['s_client', '-connect', `${bracket(t.host4)}:${port}`, '-servername', sni, '-quiet'],
    { input: req, timeoutMs: 15_000 },
  );
  const r = await findRecord(t, (x) => x.tls?.sni === sni);
  checkCommon(t, r, t.host4, port, t.bed.scannerIp);
  assert.equal(r.flow.proto, 'tls');
  assert.equal(payloadOf(r).toString(), req);
  assert.equal(r.bytes, req.length);
  assert.match(r.tls!.version, /^TLSv1\.[23]$/);
  assert.match(r.tls!.ja3, /^\d+,[\d-]+,[\d-]*,[\d-]*,[\d-]*$/);
  assert.match(r.tls!.ja3_hash!, /^[0-9a-f]{32}$/);
  assert.match(r.tls!.ja4, /^t1[0-3]d\d{4}[0-9a-z]{2}_[0-9a-f]{12}_[0-9a-f]{12}$/);
  return r;
}

export async function curlHttps(t: ListenerTarget): Promise<void> {
  const port = pick(t.tcpPorts);
  const path = `/${token('curl')}`;
  await t.bed.exec(
    t.bed.scannerNs,
    'curl',
    ['-k', '-s', '-m', '6', `https://${bracket(t.host4)}:${port}${path}`],
    {
      timeoutMs: 15_000,
    },
  );
  const r = await findRecord(t, (x) => payloadOf(x).toString().startsWith(`GET ${path} HTTP/1.1\r\n`));
  checkCommon(t, r, t.host4, port, t.bed.scannerIp);
  assert.equal(r.flow.proto, 'tls');
  assert.match(payloadOf(r).toString(), /\r\nUser-Agent: curl\/[\d.]+\r\n/);
  assert.ok(r.tls!.alpn!.includes('http/1.1'), `alpn ${JSON.stringify(r.tls!.alpn)}`);
}

/** A plaintext client and a TLS client on the same port: one record each, with the right proto. */
export async function plainAndTlsSamePort(t: ListenerTarget): Promise<void> {
  const port = pick(t.tcpPorts);
  const data = token('plain') + '\n';
  await t.bed.exec(t.bed.scannerNs, 'nc', ['-N', '-w', '5', t.host4, String(port)], { input: data });
  const tls = await opensslSni(t, port);
  const plain = await findRecord(t, (x) => payloadOf(x).toString() === data);
  assert.equal(plain.flow.proto, 'tcp');
  assert.equal(plain.flow.dport, port);
  assert.equal(tls.flow.dport, port);
}

export async function nmapVersionScan(t: ListenerTarget): Promise<void> {
  const ports = [...new Set([pick(t.tcpPorts), pick(t.tcpPorts), pick(t.tcpPorts)])];
  const since = Date.now();
  const r = await t.bed.exec(
    t.bed.scannerNs,
    'nmap',
    ['-n', '-Pn', '-sV', '--version-light', '-p', ports.join(','), t.host4],
    { timeoutMs: 120_000 },
  );
  assert.equal(r.code, 0, r.stderr);
  for (const p of ports) assert.match(r.stdout, new RegExp(`^${p}/tcp\\s+open`, 'm'));
  const mine = (x: SessionRecord) => x.flow.src === t.bed.scannerIp && Date.parse(x.started) >= since - 1000;
  await eventually(() => ports.every((p) => records(t).some((x) => mine(x) && x.flow.dport === p)));
  const got = records(t).filter(mine);
  for (const p of ports)
    assert.ok(
      got.some((x) => x.flow.dport === p && x.flow.dst === t.host4),
      `port ${p}`,
    );
  // With --idle-timeout 2s the listener closes before nmap's NULL probe (about 6 s) stops waiting for a
  // banner, so nmap reports "tcpwrapped" and sends no further probes: each port's session is empty.
  for (const x of got) assert.equal(x.flow.proto, 'tcp');
}

export async function silentClient(t: ListenerTarget): Promise<void> {
  const port = pick(t.tcpPorts);
  const out = await nodeClient(
    t,
    `const s=require('net').connect(${port},'${t.host4}',()=>console.log(s.localPort));` +
      `s.on('error',()=>{});s.on('close',()=>process.exit(0));setTimeout(()=>process.exit(3),15000)`,
  );
  const sport = Number(out.trim());
  const r = await findRecord(t, (x) => x.flow.sport === sport && x.flow.dport === port);
  checkCommon(t, r, t.host4, port, t.bed.scannerIp);
  assert.equal(r.flow.proto, 'tcp');
  assert.deepEqual(r.payloads, []);
  assert.equal(r.bytes, 0);
  assert.equal(r.truncated, false);
  assert.equal(r.close, 'timeout');
}

/** 1 MB sent: exactly the first --bufsize bytes kept, truncated, closed at the cap. */
export async function oneMegabyte(t: ListenerTarget): Promise<void> {
  const port = pick(t.tcpPorts);
  const seed = randomInt(1, 250);
  const out = await nodeClient(
    t,
    `const b=Buffer.alloc(1<<20);for(let i=0;i<b.length;i++)b[i]=(i*7+${seed})%251;` +
      `const s=require('net').connect(${port},'${t.host4}',()=>{console.log(s.localPort);s.write(b)});` +
      `s.on('error',()=>{});s.on('close',()=>process.exit(0));setTimeout(()=>process.exit(3),15000)`,
  );
  const sport = Number(out.trim());
  const r = await findRecord(t, (x) => x.flow.sport === sport && x.flow.dport === port);
  const expect = Buffer.alloc(t.bufsize);
  for (let i = 0; i < expect.length; i++) expect[i] = (i * 7 + seed) % 251;
  assert.ok(payloadOf(r).equals(expect), 'kept bytes differ from the first --bufsize bytes sent');
  assert.equal(r.truncated, true);
  assert.equal(r.close, 'cap');
  assert.ok(r.bytes >= t.bufsize);
}

/**
 * 2,000 parallel connections against --max-sessions 500: at most 500 open at once, the rest shed; every
 * accepted session is recorded with its bytes. Returns what the caller checks against the shed count.
 */
export async function parallelFlood(
  t: ListenerTarget,
  n = 2000,
): Promise<{ closed: number; recorded: number; maxOpen: number }> {
  const port = pick(t.tcpPorts);
  const tag = randomBytes(3).toString('hex');
  const out = await nodeClient(
    t,
    `const net=require('net');let done=0;const N=${n};` +
      `for(let i=0;i<N;i++){const s=net.connect(${port},'${t.host4}',()=>s.write('${tag}-'+i+'\\n'));` +
      `s.on('error',()=>{});s.on('close',()=>{if(++done===N){console.log(done);process.exit(0)}})}` +
      `setTimeout(()=>{console.log(done);process.exit(0)},30000)`,
    60_000,
  );
  // Every connection ends (recorded, or shed with an RST): the client counts them closed.
  const closed = Number(out.trim());
  const mine = (x: SessionRecord) =>
    x.flow.dport === port &&
    payloadOf(x)
      .toString()
      .startsWith(tag + '-');
  await new Promise((r) => setTimeout(r, 1500));
  const got = records(t).filter(mine);
  const seen = new Set<string>();
  for (const r of got) {
    const text = payloadOf(r).toString();
    assert.match(text, new RegExp(`^${tag}-\\d+\\n$`));
    assert.ok(!seen.has(text), 'a session was recorded twice');
    seen.add(text);
    assert.equal(r.bytes, text.length);
    assert.equal(r.flow.src, t.bed.scannerIp);
    assert.equal(r.flow.dst, t.host4);
  }
  // Most sessions open at once, from the records' start and end times.
  const edges = got.flatMap((r) => [
    [Date.parse(r.started), 1],
    [Date.parse(r.ended), -1],
  ]) as [number, number][];
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let open = 0;
  let maxOpen = 0;
  for (const [, d] of edges) maxOpen = Math.max(maxOpen, (open += d));
  return { closed, recorded: got.length, maxOpen };
}

/**
 * parallelFlood() with 2,000 connections against a sensor run with --max-sessions 500, then the sensor
 * stopped: at least 1,000 shed, every accepted session recorded, every connection ended, at most 500 open.
 */
export async function sheddingFlood(t: ListenerTarget): Promise<void> {
  const res = await parallelFlood(t, 2000);
  assert.equal(await t.sensor.stop(), 0);
  const closed = logLine(t.sensor.logs, 'listener closed');
  assert.ok(closed, 'no "listener closed" line');
  const shed = Number(closed.shed);
  const accepted = Number(closed.sessions);
  assert.ok(shed >= 1000, `shed ${shed}`);
  assert.equal(res.recorded, accepted, 'every accepted session is recorded');
  assert.equal(res.closed, 2000, 'every client connection ended');
  assert.equal(res.recorded + shed, 2000);
  assert.ok(res.recorded >= 500, `recorded ${res.recorded}`);
  assert.ok(res.maxOpen <= 500, `max open ${res.maxOpen}`);
}

/** A session open at SIGTERM is written with close "shutdown" and its bytes; the sensor exits 0. */
export async function shutdownWritesOpen(t: ListenerTarget): Promise<void> {
  const port = pick(t.tcpPorts);
  const data = token('held') + '\n';
  const client = t.bed.spawn(t.bed.scannerNs, process.execPath, [
    '-e',
    `const s=require('net').connect(${port},'${t.host4}',()=>s.write('${data.trim()}\\n',()=>console.log('sent')));` +
      `s.on('error',()=>{});s.on('close',()=>process.exit(0));setTimeout(()=>process.exit(0),20000)`,
  ]);
  try {
    // The client says when its bytes are out (a fixed sleep was overrun on a loaded machine); then the
    // sensor gets a moment to read them before it is stopped.
    await new Promise<void>((resolve) => {
      const done = setTimeout(resolve, 10_000);
      client.stdout?.on('data', (b: Buffer) => {
        if (b.toString().includes('sent')) {
          clearTimeout(done);
          resolve();
        }
      });
    });
    await new Promise((r) => setTimeout(r, 300));
    const code = await t.sensor.stop('SIGTERM');
    assert.equal(code, 0);
    const r = records(t).find((x) => payloadOf(x).toString() === data);
    assert.ok(r, 'open session not written at shutdown');
    assert.equal(r.close, 'shutdown');
    assert.equal(r.flow.dport, port);
  } finally {
    client.kill('SIGKILL');
  }
}

/** SIGHUP (logrotate): after the file is renamed, new sessions go to a new file at the same name. */
export async function sighupReopens(t: ListenerTarget): Promise<void> {
  const dir = join(t.sensor.dataDir, 'sessions');
  await ncTcp(t); // the file exists
  const [name] = readdirSync(dir).filter((f) => f.endsWith('.jsonl'));
  assert.ok(name);
  renameSync(join(dir, name), join(dir, `${name}.1`));
  process.kill(t.sensor.proc.pid!, 'SIGHUP');
  await t.sensor.waitForLog(/SIGHUP: reopening files/);
  const data = token('after-hup') + '\n';
  await t.bed.exec(t.bed.scannerNs, 'nc', ['-N', '-w', '5', t.host4, String(pick(t.tcpPorts))], {
    input: data,
  });
  const inNew = await eventually(() => {
    try {
      return readFileSync(join(dir, name), 'utf8').includes(Buffer.from(data).toString('base64'));
    } catch {
      return false;
    }
  });
  assert.ok(inNew, 'no new file after SIGHUP');
  assert.ok(!readFileSync(join(dir, `${name}.1`), 'utf8').includes(Buffer.from(data).toString('base64')));
}
