// `tidewatch run` with the dashboard bound off loopback in the namespace test bed: served over HTTPS by
// default with a Secure cookie, every route but the login page needs the token (401 without, 200 with), a
// generated token is logged once, failed logins are limited per address, cross-site requests are refused,
// a short token is refused at start; --store off answers 503; --http off serves nothing.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSensor, tempDir, type RunningSensor } from '../helpers/sensor.js';
import { createTestbed, isRoot, type Testbed } from '../helpers/testbed.js';

const skip = !isRoot() ? 'needs root (network namespaces)' : false;
const BASE_ARGS = ['--listen', 'off', '--geoip', 'off'];

describe('dashboard off loopback', { skip }, () => {
  let bed: Testbed;
  before(async () => {
    bed = await createTestbed();
  });
  after(() => bed?.destroy());

  /** Runs fn against a sensor started with args, and stops the sensor afterwards, also when fn throws. */
  async function withSensor(args: string[], fn: (sensor: RunningSensor) => Promise<void>): Promise<void> {
    const sensor = await startSensor(bed, args);
    try {
      await fn(sensor);
    } finally {
      await sensor.stop();
    }
  }

  /** curl from the scanner namespace: status code and body. */
  async function curl(url: string, args: string[] = []): Promise<{ status: number; body: string }> {
    const r = await bed.exec(bed.scannerNs, 'curl', ['-sk', '-m', '5', '-w', '\n%{http_code}', ...args, url]);
    const i = r.stdout.lastIndexOf('\n');
    return { status: Number(r.stdout.slice(i + 1)), body: r.stdout.slice(0, i) };
  }

  test('a generated token is logged once; 401 without it, 200 with it, login form sets a cookie', async () => {
    await withSensor([...BASE_ARGS, '--http', `${bed.sensorIp}:8339`], async (sensor) => {
      const lines = sensor.logs.filter((l) => l.includes('dashboard token'));
      assert.equal(lines.length, 1, 'token logged once');
      const token = (JSON.parse(lines[0]!) as { token: string }).token;
      assert.match(token, /^[A-Za-z0-9_-]{32}$/);
      const base = `https://${bed.sensorIp}:8339`;
      // Plain HTTP is not served off loopback by default: the token would cross the network in clear.
      assert.notEqual((await curl(`http://${bed.sensorIp}:8339/api/summary`)).status, 200);
      for (const p of [
        '/',
        '/api/summary',
        '/api/sessions?port=22',
        '/metrics',
        '/api/daily.csv',
        '/sessions',
      ]) {
        const r = await curl(base + p);
        assert.equal(r.status, 401, p);
        const ok = await curl(base + p, ['-H', `Authorization: Bearer ${token}`]);
        assert.equal(ok.status, 200, `${p}: ${ok.body.slice(0, 200)}`);
      }
      assert.equal((await curl(base + '/api/summary', ['-H', 'Authorization: Bearer nope'])).status, 401);
      const login = await curl(base + '/login');
      assert.equal(login.status, 200);
      assert.match(login.body, /name="token"/);
      const jar = join(tempDir('tw-web-auth-'), 'cookies.txt');
      const post = await curl(base + '/login', ['-c', jar, '--data-urlencode', `token=${token}`]);
      assert.equal(post.status, 303);
      assert.match(
        readFileSync(jar, 'utf8'),
        /^#HttpOnly_198\.18\.0\.1\tFALSE\t\/\tTRUE\t/m,
        'Secure cookie',
      );
      assert.equal((await curl(base + '/api/summary', ['-b', jar])).status, 200);
      // Another site's page may not use the API through the browser, even with the cookie.
      const auth = ['-H', `Authorization: Bearer ${token}`];
      for (const h of ['Sec-Fetch-Site: cross-site', 'Origin: https://evil.example', 'Origin: null'])
        assert.equal((await curl(base + '/api/summary', [...auth, '-H', h])).status, 403, h);
      const same = ['-H', 'Sec-Fetch-Site: same-origin', '-H', `Origin: ${base}`];
      assert.equal((await curl(base + '/api/summary', [...auth, ...same])).status, 200);
      // Failed logins: 10 a minute from one address (the wrong Bearer token above was the first), then 429
      // even for the right token; the log line comes once.
      for (let i = 0; i < 9; i++)
        assert.equal((await curl(base + '/login', ['--data-urlencode', `token=wrong${i}`])).status, 401);
      assert.equal((await curl(base + '/login', ['--data-urlencode', `token=${token}`])).status, 429);
      assert.equal((await curl(base + '/api/summary', auth)).status, 429);
      assert.equal(sensor.logs.filter((l) => l.includes('failed dashboard login')).length, 1);
      // Over IPv6 too (the sensor binds one address: the IPv4 one), and the wrong port is closed.
      const refused = await bed.exec(bed.scannerNs, 'curl', [
        '-s',
        '-m',
        '3',
        `http://[${bed.sensorIp6}]:8339/`,
      ]);
      assert.notEqual(refused.code, 0);
    });
  });

  test('--http-token is used as given and never logged', async () => {
    await withSensor(
      [...BASE_ARGS, '--http', `[${bed.sensorIp6}]:8339`, '--http-token', 'tok-given-1234567'],
      async (sensor) => {
        assert.ok(!sensor.logs.some((l) => l.includes('tok-given-1234567')), 'the token must not be logged');
        const base = `https://[${bed.sensorIp6}]:8339`;
        assert.equal((await curl(base + '/api/summary', ['-g'])).status, 401);
        assert.equal(
          (await curl(base + '/api/summary', ['-g', '-H', 'Authorization: Bearer tok-given-1234567'])).status,
          200,
        );
      },
    );
  });

  test('an explicit --http-token is required on loopback too', async () => {
    await withSensor(
      [...BASE_ARGS, '--http', '127.0.0.1:8339', '--http-token', 'loopback-token-0123'],
      async () => {
        const get = (args: string[]) =>
          bed.exec(bed.sensorNs, 'curl', [
            '-s',
            '-o',
            '/dev/null',
            '-w',
            '%{http_code}',
            ...args,
            'http://127.0.0.1:8339/api/summary',
          ]);
        assert.equal((await get([])).stdout, '401');
        assert.equal((await get(['-H', 'Authorization: Bearer loopback-token-0123'])).stdout, '200');
      },
    );
  });

  test('off loopback a token shorter than 16 characters is refused at start', async () => {
    await assert.rejects(
      startSensor(bed, [...BASE_ARGS, '--http', `${bed.sensorIp}:8339`, '--http-token', 'short-token']),
      /--http-token is shorter than 16 characters/,
    );
  });

  test('--store off: the API answers 503 with a clear message, /metrics still 200 (--http-tls off)', async () => {
    const tok = 'store-off-token-0123';
    await withSensor(
      [
        ...BASE_ARGS,
        '--store',
        'off',
        '--http',
        `${bed.sensorIp}:8339`,
        '--http-token',
        tok,
        '--http-tls',
        'off',
      ],
      async () => {
        const base = `http://${bed.sensorIp}:8339`;
        const r = await curl(base + '/api/summary', ['-H', `Authorization: Bearer ${tok}`]);
        assert.equal(r.status, 503);
        assert.match(r.body, /--store off/);
        assert.equal((await curl(base + '/metrics', ['-H', `Authorization: Bearer ${tok}`])).status, 200);
      },
    );
  });

  test('a taken --http port stops the start with a clear message', async () => {
    const holder = bed.spawn(bed.sensorNs, 'nc', ['-l', '-k', '127.0.0.1', '8339'], { stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 300));
      await assert.rejects(
        startSensor(bed, [...BASE_ARGS, '--http', '127.0.0.1:8339']),
        /cannot serve the dashboard on 127\.0\.0\.1:8339.*--http/s,
      );
    } finally {
      holder.kill('SIGKILL');
    }
  });

  test('--http off: nothing listens', async () => {
    await withSensor([...BASE_ARGS, '--http', 'off'], async (sensor) => {
      const r = await bed.exec(bed.sensorNs, 'curl', ['-s', '-m', '3', 'http://127.0.0.1:8339/']);
      assert.notEqual(r.code, 0);
      assert.ok(!sensor.logs.some((l) => l.includes('dashboard on')));
    });
  });
});
