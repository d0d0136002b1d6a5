// Web benchmark: the overview page loaded in headless chromium (target under 1 s) and /api/summary over
// HTTP, over a store filled with N sessions (one attempt each) spread over the last D days.
// Usage: node dist/bench/web/run.js [--sessions 1000000] [--days 30] [--runs 9] [--db DIR (kept; reused)]
// References measured in the same run: the store's summary() called in-process (what HTTP and JSON add),
// and the static login page loaded in the same browser (the floor of any page load).
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';

import { createLogger } from '../../src/core/log.js';
import { Stats } from '../../src/core/stats.js';
import { openDb } from '../../src/store/sqlite/db.js';
import { SqliteQueryStore } from '../../src/store/sqlite/queries.js';
import { createWebServer } from '../../src/web/server.js';
import { fillStore, fmt } from '../store/gen.js';
import { CHROMIUM_FLAGS as FLAGS } from '../../test/helpers/chromium.js';

const { values: argv } = parseArgs({
  options: {
    sessions: { type: 'string', default: '1000000' },
    days: { type: 'string', default: '30' },
    runs: { type: 'string', default: '9' },
    db: { type: 'string' },
  },
});
const N = Number(argv.sessions);
const DAYS = Number(argv.days);
const RUNS = Number(argv.runs);
const DAY = 86_400_000;

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const stat = (xs: number[]): string =>
  `median ${median(xs).toFixed(1)} ms (min ${Math.min(...xs).toFixed(1)}, max ${Math.max(...xs).toFixed(1)}, ${xs.length} runs)`;

async function main(): Promise<void> {
  const dir = argv.db ?? mkdtempSync(join(tmpdir(), 'tw-bench-web-'));
  // The data ends now: the overview shows the last 24 hours.
  const now = Date.now();
  fillStore(dir, { sessions: N, from: now - DAYS * DAY, span: DAYS * DAY, batch: 5000 });
  const { db } = openDb(dir);
  const q = new SqliteQueryStore(db);
  const web = createWebServer({
    host: '127.0.0.1',
    port: 0,
    store: q,
    metrics: { render: async () => ({ contentType: 'text/plain', body: '' }) },
    log: createLogger('silent'),
    stats: new Stats(),
  });
  const { port } = (await web.listen()) as AddressInfo;
  const base = `http://127.0.0.1:${port}`;
  try {
    // /api/summary over HTTP (keep-alive fetch) against summary() in-process.
    const direct: number[] = [];
    const http: number[] = [];
    let bytes = 0;
    for (let i = 0; i <= RUNS; i++) {
      const to = Date.now();
      let t = performance.now();
      await q.summary({ from: to - DAY, to });
      if (i) direct.push(performance.now() - t);
      t = performance.now();
      const res = await fetch(`${base}/api/summary`);
      bytes = (await res.arrayBuffer()).byteLength;
      if (res.status !== 200) throw new Error(`/api/summary: ${res.status}`);
      if (i) http.push(performance.now() - t);
    }
    console.log(`/api/summary over HTTP: ${stat(http)}, ${fmt(bytes)} bytes of JSON`);
    console.log(
      `reference: summary() in-process: ${stat(direct)}; HTTP+JSON add ${(median(http) - median(direct)).toFixed(1)} ms`,
    );

    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: FLAGS });
    try {
      const load = async (path: string, ready: string[]): Promise<number> => {
        const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 } });
        const page = await ctx.newPage();
        const t = performance.now();
        await page.goto(base + path, { waitUntil: 'load' });
        for (const sel of ready) await page.waitForSelector(sel, { timeout: 30_000 });
        const ms = performance.now() - t;
        await ctx.close();
        return ms;
      };
      const overview: number[] = [];
      const login: number[] = [];
      // Overview ready = totals, top ports and the chart drawn (all API calls answered).
      const ready = ['#totals .card', '#ports table', '#attempts canvas', '#scans > *', '#spikes > *'];
      await load('/', ready);
      for (let i = 0; i < RUNS; i++) {
        overview.push(await load('/', ready));
        login.push(await load('/login', ['form']));
      }
      console.log(`overview page, fresh browser context to charts drawn: ${stat(overview)}`);
      console.log(`reference: static login page in the same browser: ${stat(login)}`);
      console.log(`overview under 1 s: ${median(overview) < 1000 ? 'yes' : 'NO'}`);
    } finally {
      await browser.close();
    }
  } finally {
    await web.close();
    db.close();
    if (!argv.db) rmSync(dir, { recursive: true, force: true });
  }
}

await main();
