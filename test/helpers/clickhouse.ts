// A real ClickHouse server for tests: Debian's clickhouse-server run as a plain process on 127.0.0.1 with a
// scratch config and data dir on free ports (shared/reference/stack-notes.md §6). It is stopped by pid,
// by stop() and at exit; halt() and resume() make an outage on the same ports and data.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { tempDir } from './sensor.js';

export const CLICKHOUSE_SERVER = '/usr/sbin/clickhouse-server';
export const CLICKHOUSE_CLIENT = '/usr/bin/clickhouse-client';
/** The user tidewatch connects as (with a password, so the URL and env password paths are exercised). */
export const CH_USER = 'tw';
export const CH_PASSWORD = 'tw-test-password';

export interface ClickHouseServer {
  readonly httpPort: number;
  readonly tcpPort: number;
  readonly dir: string;
  /** http://tw:PASSWORD@127.0.0.1:PORT/DATABASE */
  url(database: string, opts?: { password?: boolean }): string;
  /** Runs SQL through clickhouse-client (the reference client) and returns its stdout. */
  client(sql: string, input?: string | Buffer): string;
  /** Stops the server and removes its data. */
  stop(): Promise<void>;
  /** Stops the server, keeping its data (an outage)... */
  halt(): Promise<void>;
  /** ...and starts it again on the same ports. */
  resume(): Promise<void>;
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

function configXml(dir: string, http: number, tcp: number): string {
  return `<yandex>
  <logger><level>warning</level><log>${dir}/log/server.log</log><errorlog>${dir}/log/err.log</errorlog>
    <size>10M</size><count>1</count></logger>
  <http_port>${http}</http_port><tcp_port>${tcp}</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>${dir}/data/</path><tmp_path>${dir}/tmp/</tmp_path>
  <user_files_path>${dir}/user_files/</user_files_path><format_schema_path>${dir}/schemas/</format_schema_path>
  <users_config>${dir}/users.xml</users_config>
  <default_profile>default</default_profile><default_database>default</default_database>
  <max_concurrent_queries>100</max_concurrent_queries>
  <mark_cache_size>268435456</mark_cache_size>
  <uncompressed_cache_size>268435456</uncompressed_cache_size>
  <mlock_executable>false</mlock_executable>
</yandex>\n`;
}

const USERS_XML = `<yandex>
  <profiles><default><max_memory_usage>4000000000</max_memory_usage></default></profiles>
  <users>
    <default><password></password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default>
    <${CH_USER}><password>${CH_PASSWORD}</password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></${CH_USER}>
  </users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>\n`;

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of live) if (p.exitCode === null && p.pid) process.kill(p.pid, 'SIGKILL');
});

/** Starts a scratch ClickHouse; skips nothing: a missing server is an error naming the package. */
export async function startClickHouse(): Promise<ClickHouseServer> {
  if (!existsSync(CLICKHOUSE_SERVER))
    throw new Error('clickhouse-server is missing: run node scripts/preflight.mjs --test (as root)');
  const dir = tempDir('tw-ch-');
  for (const d of ['log', 'data', 'tmp', 'user_files', 'schemas'])
    mkdirSync(join(dir, d), { recursive: true });
  const httpPort = await freePort();
  const tcpPort = await freePort();
  writeFileSync(join(dir, 'config.xml'), configXml(dir, httpPort, tcpPort));
  writeFileSync(join(dir, 'users.xml'), USERS_XML);
  let proc: ChildProcess | undefined;

  const ping = async (): Promise<boolean> => {
    try {
      const r = await fetch(`http://127.0.0.1:${httpPort}/ping`, { signal: AbortSignal.timeout(1000) });
      return r.ok;
    } catch {
      return false;
    }
  };
  const start = async (): Promise<void> => {
    const p = spawn(CLICKHOUSE_SERVER, [`--config-file=${join(dir, 'config.xml')}`], {
      cwd: dir,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    p.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
    live.add(p);
    p.on('exit', () => live.delete(p));
    proc = p;
    const deadline = Date.now() + 30_000;
    while (!(await ping())) {
      if (p.exitCode !== null) throw new Error(`clickhouse-server exited (${p.exitCode}): ${err}`);
      if (Date.now() > deadline) throw new Error(`clickhouse-server did not answer within 30 s: ${err}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const stop = async (): Promise<void> => {
    const p = proc;
    proc = undefined;
    if (!p || p.exitCode !== null || !p.pid) return;
    const exited = new Promise((r) => p.once('exit', r));
    process.kill(p.pid, 'SIGTERM');
    const t = setTimeout(() => p.pid && p.exitCode === null && process.kill(p.pid, 'SIGKILL'), 15_000);
    await exited;
    clearTimeout(t);
  };
  await start();
  return {
    httpPort,
    tcpPort,
    dir,
    url: (database, opts = {}) =>
      `http://${CH_USER}${opts.password === false ? '' : ':' + CH_PASSWORD}@127.0.0.1:${httpPort}/${database}`,
    client: (sql, input) =>
      execFileSync(CLICKHOUSE_CLIENT, ['--host', '127.0.0.1', '--port', String(tcpPort), '--query', sql], {
        input: input ?? '',
        encoding: 'utf8',
        maxBuffer: 256 << 20,
      }),
    async stop() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
    halt: stop,
    resume: start,
  };
}
