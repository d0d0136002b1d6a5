import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { HttpError } from './http-util.js';
import { StaticFiles } from './static-files.js';

test('dashboard pages are served with the shared head and top bar filled in, partials are not served', async () => {
  const files = new StaticFiles();
  const server = createServer((req, res) => {
    try {
      files.serve(req, res, req.url ?? '/');
    } catch (err) {
      res.writeHead(err instanceof HttpError ? err.status : 500).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const count = (s: string, sub: string) => s.split(sub).length - 1;
    for (const [path, script] of [
      ['/', 'overview'],
      ['/port', 'port'],
      ['/source', 'source'],
      ['/sessions', 'sessions'],
    ] as const) {
      const html = await (await fetch(base + path)).text();
      assert.equal(count(html, '<meta charset="utf-8" />'), 1, path);
      assert.equal(count(html, '<header class="top">'), 1, path);
      assert.equal(count(html, '<script src="/static/common.js"></script>'), 1, path);
      assert.ok(html.includes(`<script src="/static/${script}.js" defer></script>`), path);
      assert.ok(html.indexOf('<meta charset') < html.indexOf('<title>'), path);
      assert.ok(html.indexOf('</head>') < html.indexOf('<header class="top">'), path);
      assert.ok(!html.includes('<!-- include:'), path);
      assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//, `${path} loads nothing from elsewhere`);
    }
    const login = await (await fetch(base + '/login')).text();
    assert.ok(!login.includes('<header class="top">'));
    for (const partial of ['/_head.html', '/static/_head.html', '/_top-bar.html', '/static/_top-bar.html'])
      assert.equal((await fetch(base + partial)).status, 404, partial);
  } finally {
    server.close();
  }
});
