// Session handling over real loopback sockets: payload entries per read, caps, close kinds (RST, FIN),
// timeouts, shedding, shutdown, TLS sniffing on split chunks and failed handshakes, UDP truncation.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { connect as tlsConnect, createSecureContext, type SecureContext } from 'node:tls';
import { EventBus } from '../core/bus.js';
import type { SensorContext } from '../core/context.js';
import type { ProbeEvent, SessionEvent } from '../core/events.js';
import { createLogger } from '../core/log.js';
import { Stats } from '../core/stats.js';
import type { Config } from '../config/schema.js';
import { Sessions } from './sessions.js';
import { boundPort, tcpListen } from './tcp-engine.js';
import type { Tarpit } from './types.js';

let secureContext: SecureContext;
let certDir: string;
before(() => {
  certDir = mkdtempSync(join(tmpdir(), 'tw-sess-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=t',
    ].concat(['-keyout', join(certDir, 'k.pem'), '-out', join(certDir, 'c.pem')]),
    { stdio: 'ignore' },
  );
  secureContext = createSecureContext({
    cert: readFileSync(join(certDir, 'c.pem')),
    key: readFileSync(join(certDir, 'k.pem')),
  });
});
after(() => rmSync(certDir, { recursive: true, force: true }));

interface Rig {
  sessions: Sessions;
  events: SessionEvent[];
  probes: ProbeEvent[];
  stats: Stats;
  port: number;
  next(): Promise<SessionEvent>;
  close(): Promise<void>;
}

async function rig(cfg: Partial<Config> = {}, opts: { tls?: boolean; tarpit?: Tarpit } = {}): Promise<Rig> {
  const full = {
    sensor: 't',
    bufsize: 8192,
    idleTimeout: 5000,
    maxSession: 10_000,
    maxSessions: 100,
    fin: false,
    ...cfg,
  } as Config;
  const bus = new EventBus();
  const stats = new Stats();
  const ctx: SensorContext = { cfg: full, bus, log: createLogger('fatal'), stats };
  const events: SessionEvent[] = [];
  const probes: ProbeEvent[] = [];
  const waiters: ((e: SessionEvent) => void)[] = [];
  bus.on('session', (e) => {
    const w = waiters.shift();
    if (w) w(e);
    else events.push(e);
  });
  bus.on('probe', (p) => probes.push(p));
  const sessions = new Sessions(ctx, {
    secureContext: opts.tls ? secureContext : undefined,
    tarpit: opts.tarpit,
  });
  // The session engine accepts on a real listening socket, as in ports mode.
  const fd = tcpListen('127.0.0.1', 0, 128);
  const port = boundPort(fd);
  const listening = sessions.listenTcp(fd);
  return {
    sessions,
    events,
    probes,
    stats,
    port,
    next: () => {
      const e = events.shift();
      return e ? Promise.resolve(e) : new Promise((r) => waiters.push(r));
    },
    close: async () => {
      listening.close();
      sessions.close();
    },
  };
}

/** Connects and resolves with how the server closed: 'rst' (ECONNRESET) or 'fin' (end). */
function client(port: number, onConnect: (s: Socket) => void): Promise<'rst' | 'fin'> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => onConnect(s));
    s.resume(); // read what the server sends, or its FIN is never seen
    let how: 'rst' | 'fin' = 'fin';
    s.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ECONNRESET') how = 'rst';
    });
    s.on('close', () => resolve(how));
  });
}

const b64 = (s: string) => Buffer.from(s).toString('base64');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('each read is one payload entry; client FIN ends the session; a probe is emitted at accept', async () => {
  const r = await rig();
  try {
    await client(r.port, async (s) => {
      s.write('one');
      await sleep(50);
      s.end('two');
    });
    const e = await r.next();
    assert.equal(e.proto, 'tcp');
    assert.equal(e.src, '127.0.0.1');
    assert.equal(e.dst, '127.0.0.1');
    assert.equal(e.dport, r.port);
    assert.deepEqual(
      e.payloads.map((p) => [p.index, p.data]),
      [
        [0, b64('one')],
        [1, b64('two')],
      ],
    );
    assert.ok(e.payloads[0]!.timestamp < e.payloads[1]!.timestamp);
    assert.equal(e.bytes, 6);
    assert.equal(e.truncated, false);
    assert.equal(e.close, 'fin');
    assert.equal(r.probes.length, 1);
    assert.deepEqual(
      {
        via: r.probes[0]!.via,
        kind: r.probes[0]!.kind,
        proto: r.probes[0]!.proto,
        hs: r.probes[0]!.handshake,
      },
      { via: 'listener', kind: 'connect', proto: 'tcp', hs: true },
    );
  } finally {
    await r.close();
  }
});

test('the cap keeps the first --bufsize bytes across reads and closes with RST', async () => {
  const r = await rig({ bufsize: 100 });
  try {
    const how = await client(r.port, async (s) => {
      s.write(Buffer.alloc(60, 'a'));
      await sleep(30);
      s.write(Buffer.alloc(200, 'b'));
    });
    const e = await r.next();
    const kept = Buffer.concat(e.payloads.map((p) => Buffer.from(p.data, 'base64')));
    assert.equal(kept.toString(), 'a'.repeat(60) + 'b'.repeat(40));
    assert.equal(e.truncated, true);
    assert.equal(e.close, 'cap');
    assert.ok(e.bytes >= 100);
    assert.equal(how, 'rst');
  } finally {
    await r.close();
  }
});

test('a client trickling a byte per read makes at most 128 payload entries, every byte kept', async () => {
  const r = await rig();
  try {
    const sent = Buffer.alloc(300, 0).map((_, i) => 65 + (i % 26));
    await client(r.port, async (s) => {
      s.setNoDelay(true);
      for (const byte of sent) {
        s.write(Buffer.from([byte]));
        await sleep(3);
      }
      s.end();
    });
    const e = await r.next();
    assert.equal(e.payloads.length, 128);
    assert.deepEqual(Buffer.concat(e.payloads.map((p) => Buffer.from(p.data, 'base64'))), sent);
    assert.equal(e.bytes, 300);
  } finally {
    await r.close();
  }
});

test('--fin closes with FIN', async () => {
  const r = await rig({ bufsize: 10, fin: true });
  try {
    const how = await client(r.port, (s) => s.write('0123456789abc'));
    assert.equal((await r.next()).close, 'cap');
    assert.equal(how, 'fin');
  } finally {
    await r.close();
  }
});

test('idle timeout and total session time', async () => {
  const r = await rig({ idleTimeout: 200, maxSession: 600 });
  try {
    const t0 = Date.now();
    await client(r.port, () => {});
    const idle = await r.next();
    assert.equal(idle.close, 'timeout');
    assert.deepEqual(idle.payloads, []);
    assert.ok(Date.now() - t0 < 1000);
    // A slow trickle does not keep a session alive past --max-session.
    const t1 = Date.now();
    await client(r.port, (s) => {
      const iv = setInterval(() => (s.destroyed ? clearInterval(iv) : s.write('.')), 50);
    });
    const long = await r.next();
    assert.equal(long.close, 'timeout');
    const took = Date.now() - t1;
    assert.ok(took >= 550 && took < 1500, `took ${took} ms`);
  } finally {
    await r.close();
  }
});

test('beyond --max-sessions new connections are reset at once and counted', async () => {
  const r = await rig({ maxSessions: 2 });
  try {
    const held: Socket[] = [];
    for (let i = 0; i < 2; i++)
      held.push(
        await new Promise<Socket>((res) => {
          const s = connect(r.port, '127.0.0.1', () => res(s));
          s.on('error', () => {});
        }),
      );
    await sleep(50);
    assert.equal(r.sessions.size, 2);
    assert.equal(await client(r.port, () => {}), 'rst');
    assert.equal(r.stats.get('listener_shed_total'), 1);
    // The open-sessions gauge follows at the next sweep.
    for (let i = 0; i < 40 && r.stats.get('listener_open_sessions') !== 2; i++) await sleep(50);
    assert.equal(r.stats.get('listener_open_sessions'), 2);
    held.forEach((s) => s.end());
    await r.next();
    await r.next();
  } finally {
    await r.close();
  }
});

test('close() writes open sessions with close "shutdown"', async () => {
  const r = await rig();
  const s = connect(r.port, '127.0.0.1', () => s.write('held'));
  s.on('error', () => {});
  await sleep(100);
  await r.close();
  const e = await r.next();
  assert.equal(e.close, 'shutdown');
  assert.equal(e.payloads[0]!.data, b64('held'));
});

/** A proxy that forwards the client's bytes one at a time: the ClientHello arrives in many reads. */
async function splittingProxy(target: number): Promise<{ port: number; close(): void }> {
  const srv = createServer((c) => {
    const up = connect(target, '127.0.0.1');
    up.on('error', () => c.destroy());
    c.on('error', () => up.destroy());
    up.pipe(c);
    let chain = Promise.resolve();
    c.on('data', (d: Buffer) => {
      for (const byte of d)
        chain = chain.then(
          () =>
            new Promise<void>((res) => {
              up.write(Buffer.of(byte));
              setImmediate(res);
            }),
        );
    });
    c.on('end', () => void chain.then(() => up.end()));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return { port: (srv.address() as { port: number }).port, close: () => srv.close() };
}

test('TLS: a ClientHello split into 1-byte reads is recognised; the decrypted data is recorded', async () => {
  const r = await rig({}, { tls: true });
  const proxy = await splittingProxy(r.port);
  try {
    await new Promise<void>((resolve, reject) => {
      const c = tlsConnect(
        {
          port: proxy.port,
          host: '127.0.0.1',
          servername: 'split.example',
          rejectUnauthorized: false,
          ALPNProtocols: ['x-test'],
        },
        () => c.end('secret request'),
      );
      c.on('error', reject);
      c.on('close', () => resolve());
    });
    const e = await r.next();
    assert.equal(e.proto, 'tls');
    assert.equal(e.tls?.sni, 'split.example');
    assert.deepEqual(e.tls?.alpn, ['x-test']);
    assert.equal(e.tls?.version, 'TLSv1.3');
    assert.match(e.tls!.ja4, /^t13d/);
    assert.equal(
      Buffer.concat(e.payloads.map((p) => Buffer.from(p.data, 'base64'))).toString(),
      'secret request',
    );
    assert.equal(e.bytes, 'secret request'.length);
  } finally {
    proxy.close();
    await r.close();
  }
});

test('TLS: a failed handshake is still recorded with the ClientHello fields and no data', async () => {
  // Capture a real ClientHello, then replay it and hang up: the handshake cannot complete.
  const hello = await new Promise<Buffer>((resolve) => {
    const cap = createServer((s) =>
      s.once('data', (d: Buffer) => {
        resolve(d);
        s.destroy();
        cap.close();
      }),
    ).listen(0, '127.0.0.1', () => {
      const c = tlsConnect({
        port: (cap.address() as { port: number }).port,
        host: '127.0.0.1',
        servername: 'fail.example',
      });
      c.on('error', () => {});
    });
  });
  const r = await rig({}, { tls: true });
  try {
    await client(r.port, (s) => s.end(hello));
    const e = await r.next();
    assert.equal(e.proto, 'tls');
    assert.equal(e.tls?.sni, 'fail.example');
    assert.deepEqual(e.payloads, []);
    assert.equal(e.bytes, 0);
    // Garbage after the ClientHello: the handshake fails on the server, and the connection is closed.
    const how = await client(r.port, (s) =>
      s.write(Buffer.concat([hello, Buffer.from('\x16\x03\x03\x00\x05zzzzz', 'latin1')])),
    );
    assert.ok(how === 'rst' || how === 'fin');
    const bad = await r.next();
    assert.equal(bad.proto, 'tls');
    assert.equal(bad.close, 'error');
  } finally {
    await r.close();
  }
});

test('TLS on: plaintext that starts like nothing TLS is plain TCP, byte for byte', async () => {
  const r = await rig({}, { tls: true });
  try {
    await client(r.port, (s) => s.end('\x16\x03junk that is not a hello'));
    const e = await r.next();
    assert.equal(e.proto, 'tcp');
    assert.equal(Buffer.from(e.payloads[0]!.data, 'base64').toString(), '\x16\x03junk that is not a hello');
  } finally {
    await r.close();
  }
});

test('UDP: one session per datagram, --bufsize kept, truncation flagged', async () => {
  const r = await rig({ bufsize: 100 });
  try {
    r.sessions.recordUdp({
      src: '::ffff:198.18.0.2',
      sport: 5353,
      dst: '198.18.0.1',
      dport: 53,
      data: Buffer.alloc(300, 7),
      bytes: 300,
      time: Date.now(),
    });
    const e = await r.next();
    assert.equal(e.proto, 'udp');
    assert.equal(e.src, '198.18.0.2');
    assert.equal(e.bytes, 300);
    assert.equal(Buffer.from(e.payloads[0]!.data, 'base64').length, 100);
    assert.equal(e.truncated, true);
    assert.equal(e.close, 'cap');
    assert.equal(r.probes.at(-1)?.kind, 'udp');
  } finally {
    await r.close();
  }
});

test('--tarpit: a capped session is handed to the tarpit instead of closed', async () => {
  const heldSockets: Socket[] = [];
  const tarpit: Tarpit = {
    hold: (s) => {
      heldSockets.push(s);
      return true;
    },
    close: async () => {},
    destroy: () => {},
  };
  const r = await rig({ bufsize: 4 }, { tarpit });
  try {
    const s = connect(r.port, '127.0.0.1', () => s.write('abcdef'));
    s.on('error', () => {});
    const e = await r.next();
    assert.equal(e.close, 'cap');
    assert.equal(heldSockets.length, 1);
    assert.equal(heldSockets[0]!.destroyed, false);
    heldSockets[0]!.destroy();
    s.destroy();
  } finally {
    await r.close();
  }
});

test('TLS sessions close with RST too (idle timeout), and the descriptor is released', async () => {
  const r = await rig({ idleTimeout: 200 }, { tls: true });
  try {
    const how = await new Promise<string>((resolve) => {
      const c = tlsConnect({ port: r.port, host: '127.0.0.1', rejectUnauthorized: false }, () =>
        c.write('x'),
      );
      let h = 'fin';
      c.on('error', (e: NodeJS.ErrnoException) => (h = e.code ?? 'error'));
      c.on('close', () => resolve(h));
      c.resume();
    });
    assert.equal(how, 'ECONNRESET');
    const e = await r.next();
    assert.equal(e.proto, 'tls');
    assert.equal(e.close, 'timeout');
    assert.equal(r.sessions.size, 0);
  } finally {
    await r.close();
  }
});
