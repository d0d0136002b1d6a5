// How tests and benchmarks start Debian's chromium through playwright-core: headless, no sandbox (root in a
// namespace), and nothing it would fetch on its own (updates, sync, QUIC), so every request seen is the page's.
import type { Page } from 'playwright-core';

export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
];

/** What a page did wrong: console errors and page errors, and requests to any host but the dashboard's. */
export interface PageWatch {
  errors: string[];
  foreign: string[];
}

/** Records console errors, page errors and every request that is not to 127.0.0.1 (data: URLs aside). */
export function watchPage(page: Page): PageWatch {
  const w: PageWatch = { errors: [], foreign: [] };
  page.on('console', (m) => {
    if (m.type() === 'error') w.errors.push(m.text());
  });
  page.on('pageerror', (e) => w.errors.push(String(e)));
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (u.protocol !== 'data:' && u.hostname !== '127.0.0.1') w.foreign.push(r.url());
  });
  return w;
}
