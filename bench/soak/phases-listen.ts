// Soak phases that load the listener: (a) a connection flood at twice the open-file limit, (c) a payload
// flood against --max-disk 200MB, (e) SIGKILL in the middle of a payload flood and the next start.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { eventually, readJsonLines, tempDir } from '../../test/helpers/sensor.js';
import type { Testbed } from '../../test/helpers/testbed.js';
import { du, flood, int, mib, openFds, type Row, sampleMax, sensor, sleep, type SoakOptions } from './lib.js';

const NOFILE = 1024;
const PORTS = ['--tcp-ports', '8080-8089', '--udp-ports', ''];

/** Sends one marked session with nc and waits until the sensor's sessions file holds it. */
async function recorded(bed: Testbed, dataDir: string, marker: string, ms: number): Promise<boolean> {
  const b64 = Buffer.from(marker).toString('base64');
  return Boolean(
    await eventually(
      async () => {
        await bed.exec(bed.scannerNs, 'nc', ['-N', '-w', '3', bed.sensorIp, '8080'], { input: marker });
        return readJsonLines<{ payloads: { data: string }[] }>(join(dataDir, 'sessions')).some(
          (s) => s.payloads[0]?.data === b64,
        );
      },
      ms,
      1000,
    ),
  );
}

/** (a) 2.5× RLIMIT_NOFILE connections in flight: never exits, sheds (counted), records once it ends. */
export async function connectionFlood(bed: Testbed, o: SoakOptions): Promise<Row> {
  const inflight = Math.round(NOFILE * 2.5);
  const ms = o.quick ? 20_000 : 90_000;
  const s = await sensor(bed, [...PORTS, '--store', 'off', '--idle-timeout', '5s'], {
    wrap: ['prlimit', `--nofile=${NOFILE}:${NOFILE}`, '--'],
  });
  const fds = sampleMax(() => openFds(s.pid), 250);
  const f = await flood(bed, { ports: [8080, 8089], inflight, max: 2_000_000, ms, payload: 16, hold: true });
  const peakFds = (await fds.stop()).max;
  const shed = await s.metric('listener_shed_total');
  const alive = s.proc.exitCode === null && s.proc.signalCode === null;
  const after = alive && (await recorded(bed, s.dataDir, `after the flood ${Date.now()}\n`, 30_000));
  const sessions = await s.metric('listener_sessions_total');
  const code = await s.stop();
  return {
    phase: 'a. connection flood at 2.5x the fd limit',
    held: `RLIMIT_NOFILE ${NOFILE}; ${int(inflight)} connections in flight for ${ms / 1000} s`,
    figure:
      `${int(f.opened)} opened (${int(f.connected)} connected, client peak ${int(f.peak)} at once); ` +
      `sensor peak ${int(peakFds)} fds; shed ${int(shed)}, recorded ${int(sessions)}; ` +
      `after: ${after ? 'recorded' : 'NOT recorded'}; exit ${String(code)}`,
    pass: alive && shed > 0 && after && peakFds <= NOFILE && code === 0,
    command: '',
  };
}

const DISK = 200_000_000;
const PAYLOAD = 32 * 1024;

/** (c) 32 KiB payloads into sessions, raw files and the store: the data dir stays under --max-disk 200MB. */
export async function payloadFlood(bed: Testbed, o: SoakOptions): Promise<Row> {
  const ms = o.quick ? 45_000 : 180_000;
  const max = o.quick ? 40_000 : 150_000;
  const s = await sensor(bed, [...PORTS, '--max-disk', '200MB', '--raw-files', '--bufsize', '32KiB']);
  let maxApparent = 0;
  const size = sampleMax(async () => {
    const d = await du(bed, s.dataDir);
    maxApparent = Math.max(maxApparent, d.apparent);
    return d.allocated;
  }, 500);
  const f = await flood(bed, { ports: [8080, 8089], inflight: 64, max, ms, payload: PAYLOAD, hold: false });
  await sleep(3000); // the quota's last pass over what the flood's tail wrote
  const alloc = await size.stop();
  const written = await s.metric('listener_sessions_total');
  const runs = await s.metric('disk_quota_runs_total');
  const code = await s.stop();
  const end = await du(bed, s.dataDir);
  const offered = written * PAYLOAD * 3; // each payload lands in a sessions line, a raw file and the store
  return {
    phase: 'c. payload flood, --max-disk 200MB',
    held: `data dir <= 200,000,000 B (du, sampled every 0.5 s, ${alloc.samples} samples)`,
    figure:
      `${int(f.connected)} sessions x 32 KiB (~${mib(offered)} offered in 3 copies); max du ${mib(alloc.max)} ` +
      `allocated / ${mib(maxApparent)} apparent; at end ${mib(end.allocated)}; ${int(runs)} quota passes; exit ${String(code)}`,
    pass: alloc.max <= DISK && maxApparent <= DISK && offered > DISK && runs > 0 && code === 0,
    command: '',
  };
}

/** Every line of every sessions file parses and the file ends with a newline. */
function sessionLinesOk(dataDir: string): { lines: number; bad: number } {
  const dir = join(dataDir, 'sessions');
  let lines = 0;
  let bad = 0;
  for (const name of existsSync(dir) ? readdirSync(dir) : []) {
    const parts = readFileSync(join(dir, name), 'utf8').split('\n');
    if (parts.pop() !== '') bad++;
    for (const l of parts) {
      lines++;
      try {
        JSON.parse(l);
      } catch {
        bad++;
      }
    }
  }
  return { lines, bad };
}

/** (e) SIGKILL mid-flood, `kills` times; each next start is clean; at the end lines and SQLite are whole. */
export async function killMidFlood(bed: Testbed, o: SoakOptions): Promise<Row> {
  const kills = o.quick ? 2 : 5;
  const dataDir = tempDir('tw-soak-kill-');
  let torn = 0;
  let ready = 0;
  for (let i = 0; i < kills; i++) {
    const s = await sensor(bed, [...PORTS, '--raw-files'], { dataDir });
    ready++;
    torn += s.logs.filter((l) => l.includes('"msg":"torn last line cut back"')).length;
    const spec = { ports: [8080, 8089] as [number, number], inflight: 64, max: 100_000, ms: 20_000 };
    const f = flood(bed, { ...spec, payload: 2048, hold: false });
    await sleep(2000 + Math.random() * 3000);
    s.proc.kill('SIGKILL');
    await s.exited;
    await f;
  }
  // The last start: clean, records, and stops; then the files and the store are checked whole.
  const last = await sensor(bed, [...PORTS, '--raw-files'], { dataDir });
  const after = await recorded(bed, dataDir, `after ${kills} kills\n`, 30_000);
  await sleep(1500); // the store's next write transaction
  torn += last.logs.filter((l) => l.includes('"msg":"torn last line cut back"')).length;
  const code = await last.stop();
  const lines = sessionLinesOk(dataDir);
  const db = new Database(join(dataDir, 'tidewatch.db'), { readonly: true });
  let integrity = '';
  let stored = 0;
  try {
    integrity = String(db.pragma('integrity_check', { simple: true }));
    stored = (db.prepare('SELECT count(*) n FROM sessions').get() as { n: number }).n;
  } finally {
    db.close();
  }
  return {
    phase: 'e. SIGKILL mid-flood, then restart',
    held: `${kills} kills at 2-5 s into a 2 KiB payload flood, each followed by a start`,
    figure:
      `${ready + 1} of ${kills + 1} starts ready; torn lines cut back ${torn}; ${int(lines.lines)} lines, ` +
      `${lines.bad} unparsable; integrity_check ${integrity}; ${int(stored)} sessions in SQLite; ` +
      `recorded after: ${after ? 'yes' : 'NO'}; exit ${String(code)}`,
    pass: lines.bad === 0 && integrity === 'ok' && stored > 0 && after && code === 0,
    command: '',
  };
}
