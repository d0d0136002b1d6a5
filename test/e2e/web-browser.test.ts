// The dashboard in Debian's chromium (playwright-core) over what `tidewatch run` recorded from real clients
// in the namespace test bed. The browser runs inside the sensor namespace (a wrapper script as
// executablePath), where the dashboard listens on loopback: every page loads without console errors, no
// request leaves 127.0.0.1, charts draw, and a payload and an SNI made to run script stay text.
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM_FLAGS as FLAGS, type PageWatch, watchPage as watch } from '../helpers/chromium.js';
import { eventually, REPO, startSensor, tempDir, type RunningSensor } from '../helpers/sensor.js';
import { createTestbed, isRoot, type Testbed } from '../helpers/testbed.js';
import { startClickHouse, type ClickHouseServer } from '../helpers/clickhouse.js';
import { feed, HOSTILE, startFixture, type WebFixture } from './web-fixture.js';

const skip = !isRoot() ? 'needs root (network namespaces)' : false;
const HTTP = '127.0.0.1:8339';
const BASE = `http://${HTTP}`;
const ARTIFACTS = join(REPO, 'test-artifacts');

/**
 * Polls an element's text from the test side: the page's CSP forbids the eval that a string predicate of
 * waitForFunction would need.
 */
async function textAppears(page: Page, selector: string, text: string, timeoutMs: number): Promise<boolean> {
  return Boolean(
    await eventually(async () => ((await page.textContent(selector)) ?? '').includes(text), timeoutMs, 200),
  );
}

function clean(w: PageWatch, path: string): void {
  assert.deepEqual(w.errors, [], `console errors on ${path}`);
  assert.deepEqual(w.foreign, [], `requests leaving 127.0.0.1 on ${path}`);
}

describe('dashboard in chromium over recorded traffic', { skip }, () => {
  let bed: Testbed;
  let sensor: RunningSensor;
  let browser: Browser;
  let hostileId = 0;

  const api = async <T>(path: string): Promise<T> => {
    const r = await bed.exec(bed.sensorNs, 'curl', ['-sf', `${BASE}${path}`], { timeoutMs: 10_000 });
    if (r.code !== 0) throw new Error(`curl ${path}: ${r.code} ${r.stderr}`);
    return JSON.parse(r.stdout) as T;
  };
  const scanner = (cmd: string, args: string[], input?: string) =>
    bed.exec(bed.scannerNs, cmd, args, { timeoutMs: 15_000, ...(input !== undefined && { input }) });

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    bed = await createTestbed();
    sensor = await startSensor(bed, [
      '--http',
      HTTP,
      '--tcp-ports',
      '2323,8080,8443',
      '--udp-ports',
      '5353',
      '--idle-timeout',
      '1s',
      '--geoip',
      'on',
    ]);
    const ip = bed.sensorIp;
    // Real clients from the scanner namespace: curl, nc (with a payload made to run script), openssl with
    // such an SNI, a UDP datagram, and an IPv6 connection.
    await scanner('curl', ['-s', '-m', '3', `http://${ip}:8080/admin?x=1`]);
    await scanner('nc', ['-w', '2', '-q', '1', ip, '2323'], `${HOSTILE}\r\n\x00\x01\x02binary\xff`);
    await scanner('nc', ['-w', '2', '-q', '1', ip, '8080'], `POST /cgi-bin/${HOSTILE} HTTP/1.0\r\n\r\n`);
    await scanner(
      'openssl',
      [
        's_client',
        '-connect',
        `${ip}:8443`,
        '-servername',
        'evil"><script>window.__pwned=1</script>.example',
      ],
      'Q\n',
    );
    await scanner('nc', ['-u', '-w', '1', ip, '5353'], 'udp-probe');
    await scanner('curl', ['-s', '-m', '3', '-g', `http://[${bed.sensorIp6}]:8080/v6`]);
    const found = await eventually(async () => {
      const r = await api<{ total: number }>('/api/sessions');
      return r.total >= 5 ? r : undefined;
    }, 20_000);
    assert.ok(found, 'the sensor did not record the sessions');
    const hostile = await api<{ rows: { id: number }[] }>(`/api/sessions?port=2323`);
    hostileId = hostile.rows[0]!.id;

    const dir = tempDir('tw-chromium-');
    const wrapper = join(dir, 'chromium-in-ns.sh');
    writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${bed.sensorNs} /usr/bin/chromium "$@"\n`);
    chmodSync(wrapper, 0o755);
    // playwright gives every launch a fresh, empty user-data-dir of its own.
    browser = await chromium.launch({ executablePath: wrapper, args: FLAGS });
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await sensor?.stop().catch(() => {});
    await bed?.destroy();
  });

  async function open(path: string, name: string, opts: { dark?: boolean } = {}) {
    const ctx = await browser.newContext({
      viewport: { width: 1440, height: 900 },
      colorScheme: opts.dark ? 'dark' : 'light',
    });
    const page = await ctx.newPage();
    const w = watch(page);
    const res = await page.goto(BASE + path, { waitUntil: 'networkidle' });
    assert.equal(res?.status(), 200, path);
    return {
      ctx,
      page,
      w,
      shot: () => page.screenshot({ path: join(ARTIFACTS, `web-${name}.png`), fullPage: true }),
    };
  }

  test('overview: totals, chart with canvas, tables, live updates', async () => {
    const { ctx, page, w, shot } = await open('/', 'overview');
    await page.waitForSelector('#attempts canvas');
    await page.waitForSelector('#ports table');
    assert.match((await page.textContent('#ports')) ?? '', /tcp\/8080/);
    assert.match((await page.textContent('#totals')) ?? '', /sessions/);
    await page.waitForSelector('#live-state .live-dot.on');
    await scanner('nc', ['-w', '2', '-q', '1', bed.sensorIp, '8080'], `LIVE ${HOSTILE}`);
    assert.ok(await textAppears(page, '#live', 'LIVE <img', 10_000), 'the live session did not appear');
    await shot();
    assert.equal(await page.evaluate('window.__pwned'), undefined);
    clean(w, '/');
    await ctx.close();
  });

  test('overview in dark mode', async () => {
    const { ctx, page, w, shot } = await open('/', 'overview-dark', { dark: true });
    await page.waitForSelector('#attempts canvas');
    const bg = await page.evaluate('getComputedStyle(document.body).backgroundColor');
    assert.equal(bg, 'rgb(15, 18, 23)');
    await shot();
    clean(w, '/ (dark)');
    await ctx.close();
  });

  test('port page: hourly and daily charts, sources, payload samples as text', async () => {
    const path = '/port?port=8080&proto=tcp';
    const { ctx, page, w, shot } = await open(path, 'port');
    await page.waitForSelector('#hourly canvas');
    await page.waitForSelector('#daily canvas');
    await page.waitForSelector('#samples table');
    assert.match((await page.textContent('#sources')) ?? '', new RegExp(bed.scannerIp.replace(/\./g, '\\.')));
    assert.ok(((await page.textContent('#samples')) ?? '')!.includes('<img src=x onerror='));
    await shot();
    assert.equal(await page.evaluate('window.__pwned'), undefined);
    assert.equal(await page.locator('#samples img').count(), 0);
    clean(w, path);
    await ctx.close();
  });

  test('source page: the address, its sessions', async () => {
    const path = `/source?ip=${bed.scannerIp}`;
    const { ctx, page, w, shot } = await open(path, 'source');
    await page.waitForSelector('#info dl');
    await page.waitForSelector('#sessions table');
    assert.match((await page.textContent('#info')) ?? '', /first seen/);
    assert.match((await page.textContent('#sessions')) ?? '', /tcp\/2323/);
    await shot();
    clean(w, path);
    await ctx.close();
  });

  test('session browser: the hostile payload stays text in the hex and ASCII views and runs nothing', async () => {
    const path = `/sessions?id=${hostileId}`;
    const { ctx, page, w, shot } = await open(path, 'session-hostile');
    await page.waitForSelector('#payload-ascii');
    const asciiView = (await page.textContent('#payload-ascii')) ?? '';
    assert.ok(asciiView!.includes(HOSTILE), asciiView!);
    const hex = (await page.textContent('#payload-hex')) ?? '';
    assert.match(hex!, /^00000000 {2}3c 69 6d 67 /);
    assert.equal(await page.locator('#detail img, #detail script, #results img').count(), 0);
    assert.equal(await page.evaluate('window.__pwned'), undefined);
    await shot();
    clean(w, path);
    await ctx.close();
  });

  test('the Content-Security-Policy blocks an inline script put into the page', async () => {
    const { ctx, page } = await open('/', 'csp');
    const blocked: string[] = [];
    page.on('console', (m) => blocked.push(m.text()));
    await page.addScriptTag({ content: 'window.__inline = 1;' }).catch(() => {});
    assert.equal(await page.evaluate('window.__inline'), undefined);
    assert.ok(
      blocked.some((t) => t.includes('Content Security Policy')),
      `no CSP report: ${blocked.join(' | ')}`,
    );
    await ctx.close();
  });

  test('session browser: search, TLS details with a hostile SNI as text', async () => {
    const path = '/sessions?port=8443';
    const { ctx, page, w, shot } = await open(path, 'session-tls');
    await page.waitForSelector('#results tr.clickable');
    await page.click('#results tr.clickable');
    await page.waitForSelector('#detail dl');
    const detail = (await page.textContent('#detail')) ?? '';
    assert.match(detail!, /TLS/);
    assert.ok(detail!.includes('evil"><script>window.__pwned=1</script>.example'), detail!);
    assert.match(detail!, /JA4/);
    assert.equal(await page.locator('#detail script').count(), 0);
    assert.equal(await page.evaluate('window.__pwned'), undefined);
    await shot();
    clean(w, path);
    await ctx.close();
  });

  test('session browser: a text search over payloads with paging', async () => {
    const { ctx, page, w } = await open('/sessions', 'sessions');
    await page.fill('input[name=text]', 'onerror');
    await Promise.all([page.waitForURL(/text=onerror/), page.click('button[type=submit]')]);
    await page.waitForSelector('#results table');
    const n = await page.locator('#results tr.clickable').count();
    assert.ok(n >= 2, `rows: ${n}`);
    // A text search is bounded (docs/web.md): the page says how many matched among how many it searched.
    assert.match(
      (await page.textContent('#pageinfo')) ?? '',
      /\d+ matches from here · searched [\d,]+ sessions/,
    );
    clean(w, '/sessions search');
    await ctx.close();
  });
});

describe('dashboard charts over a week of counters with a spike', () => {
  let f: WebFixture;
  let browser: Browser;
  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    f = await startFixture();
    const now = Date.now();
    feed(f.ctx.bus, now);
    // A week of attempts on two ports with a daily rhythm, and a burst on 8080 two hours ago.
    for (let h = 0; h < 7 * 24; h++) {
      const t = now - h * 3_600_000;
      const n = 3 + Math.round(3 * Math.sin((h / 24) * 2 * Math.PI)) + (h === 2 ? 60 : 0);
      for (let i = 0; i < n; i++)
        for (const dport of [8080, 22])
          f.ctx.bus.emit({
            type: 'probe',
            time: t + i * 1000,
            via: 'listener',
            proto: 'tcp',
            kind: 'connect',
            src: `198.18.1.${(i % 50) + 1}`,
            dst: '198.18.0.1',
            sport: 40000,
            dport,
          });
    }
    f.ctx.bus.emit({
      type: 'spike',
      ts: new Date(now - 2 * 3_600_000).toISOString(),
      sensor: 'test',
      proto: 'tcp',
      dport: 8080,
      interval_s: 3600,
      count: 63,
      baseline: { mean: 4, sd: 2, method: 'ewma' },
      score: 29.5,
    });
    await eventually(async () => (await f.json<{ total: number }>('/api/spikes?port=8080')).total >= 2, 5000);
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: FLAGS });
  });
  after(async () => {
    await browser?.close().catch(() => {});
    await f?.close();
  });

  test('overview (7 days) and port page draw series, baseline and spike markers; the theme toggles', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    const page = await ctx.newPage();
    const w = watch(page);
    await page.goto(`${f.base}/?range=7d`, { waitUntil: 'networkidle' });
    await page.waitForSelector('#attempts canvas');
    await page.screenshot({ path: join(ARTIFACTS, 'web-overview-7d.png'), fullPage: true });
    await page.click('#theme');
    assert.equal(await page.evaluate('document.documentElement.dataset.theme'), 'dark');
    await page.waitForSelector('#attempts canvas');
    await page.screenshot({ path: join(ARTIFACTS, 'web-overview-7d-dark.png'), fullPage: true });
    await page.click('#theme');
    assert.equal(await page.evaluate('document.documentElement.dataset.theme'), 'light');
    await page.click('#theme');
    assert.equal(await page.evaluate('document.documentElement.dataset.theme'), undefined);
    // A new scan on the bus reaches the open overview through the live stream and refreshes its tables.
    await page.waitForSelector('#live-state .live-dot.on');
    const now = new Date().toISOString();
    f.ctx.bus.emit({
      type: 'scan',
      ts: now,
      sensor: 'test',
      id: 'scan-live',
      state: 'open',
      src: '198.18.7.7',
      kind: 'horizontal',
      probe: 'syn',
      ports: 1,
      hosts: 200,
      probes: 200,
      window_s: 300,
      first_seen: now,
      last_seen: now,
      tool: 'masscan',
      handshake_completed: false,
      action: 'logged',
    });
    assert.ok(await textAppears(page, '#scans', '198.18.7.7', 20_000), 'the new scan did not appear');
    await page.goto(`${f.base}/port?port=8080&proto=tcp`, { waitUntil: 'networkidle' });
    await page.waitForSelector('#hourly canvas');
    await page.waitForSelector('#daily canvas');
    assert.match((await page.textContent('#spikes')) ?? '', /29\.5/);
    await page.screenshot({ path: join(ARTIFACTS, 'web-port-7d.png'), fullPage: true });
    clean(w, 'overview and port page over a week');
    await ctx.close();
  });
});

describe('fleet dashboard over ClickHouse in chromium', { skip }, () => {
  let server: ClickHouseServer;
  let alpha: WebFixture;
  let beta: WebFixture;
  let browser: Browser;
  before(async () => {
    server = await startClickHouse();
    const database = `browser${process.pid}`;
    alpha = await startFixture({ clickhouse: server, sensor: 'alpha', database });
    beta = await startFixture({ clickhouse: server, sensor: 'beta', database });
    feed(alpha.ctx.bus);
    feed(beta.ctx.bus);
    feed(beta.ctx.bus);
    await alpha.settled();
    await beta.settled();
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: FLAGS });
  });
  after(async () => {
    await browser?.close().catch(() => {});
    await beta?.close();
    await alpha?.close();
    await server?.stop();
  });

  test('every page loads without errors or outside requests; the sensor picker filters every page', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    const page = await ctx.newPage();
    const w = watch(page);
    for (const path of ['/', '/sensors', '/sessions', '/port?port=8080&proto=tcp', '/source?ip=198.18.0.2']) {
      const res = await page.goto(alpha.base + path, { waitUntil: 'networkidle' });
      assert.equal(res?.status(), 200, path);
      clean(w, path);
    }
    // The fleet overview: one line per sensor on the attempts chart.
    await page.goto(alpha.base + '/', { waitUntil: 'networkidle' });
    await page.waitForSelector('#attempts .u-legend');
    const fleetLegend = (await page.textContent('#attempts .u-legend')) ?? '';
    assert.match(fleetLegend, /alpha/);
    assert.match(fleetLegend, /beta/);
    assert.doesNotMatch(fleetLegend, /tcp\//);
    assert.equal(await page.textContent('#attempts-what'), 'by sensor, every port');
    await page.goto(alpha.base + '/sensors', { waitUntil: 'networkidle' });
    const sensorsText = (await page.textContent('#sensors')) ?? '';
    assert.match(sensorsText, /alpha/);
    assert.match(sensorsText, /beta/);
    assert.match((await page.textContent('#fleet-spikes')) ?? '', /alpha, beta/);
    await page.goto(alpha.base + '/sessions', { waitUntil: 'networkidle' });
    assert.match((await page.textContent('#pageinfo')) ?? '', /of 15\b/);
    assert.equal(await page.locator('#sensor-picker option').count(), 3);
    await Promise.all([page.waitForEvent('load'), page.selectOption('#sensor-picker', 'beta')]);
    await page.waitForSelector('#results table');
    assert.match((await page.textContent('#pageinfo')) ?? '', /of 10\b/);
    assert.equal(await page.inputValue('#sensor-picker'), 'beta');
    await page.goto(alpha.base + '/', { waitUntil: 'networkidle' });
    await page.waitForSelector('#attempts canvas');
    // One sensor picked: its top ports, as a single sensor's dashboard shows them.
    const pickedLegend = (await page.textContent('#attempts .u-legend')) ?? '';
    assert.match(pickedLegend, /tcp\/8080/);
    assert.doesNotMatch(pickedLegend, /alpha/);
    clean(w, 'pages with a sensor picked');
    await page.screenshot({ path: join(ARTIFACTS, 'web-fleet-sessions.png'), fullPage: true });
    await ctx.close();
  });
});
