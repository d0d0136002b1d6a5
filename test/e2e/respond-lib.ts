// Shared by the responder scenarios: one sensor with --respond on in the sensor namespace, real clients in
// the scanner namespace, and reading back the session records they made.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { eventually, readJsonLines, startSensor, type RunningSensor } from '../helpers/sensor.js';
import { createTestbed, type Testbed } from '../helpers/testbed.js';

export interface RespondRecord {
  flow: { proto: string; src: string; sport: number; dst: string; dport: number };
  payloads: { index: number; timestamp: string; data: string }[];
  close: string;
  persona?: string;
  sent?: { index: number; timestamp: string; data: string }[];
  credentials?: {
    username: string;
    password?: string;
    key_type?: string;
    key_fingerprint?: string;
    auth_data?: string;
  }[];
  commands?: string[];
  http?: { method: string; path: string; host?: string; user_agent?: string }[];
  ssh?: { client: string; hassh?: string; hassh_algorithms?: string };
  tls?: unknown;
}

export interface RespondBed {
  bed: Testbed;
  sensor: RunningSensor;
  /** Runs a client in the scanner namespace. */
  run(
    cmd: string,
    args: string[],
    opts?: { input?: string; timeoutMs?: number },
  ): Promise<{ code: number | null; stdout: string; stderr: string }>;
  records(): RespondRecord[];
  /** Waits for a record on this port that matches. */
  find(dport: number, match?: (r: RespondRecord) => boolean, timeoutMs?: number): Promise<RespondRecord>;
  close(): Promise<void>;
}

export async function startRespondBed(args: string[]): Promise<RespondBed> {
  const bed = await createTestbed();
  let sensor: RunningSensor;
  try {
    sensor = await startSensor(bed, [
      '--http',
      'off',
      '--store',
      'off',
      '--geoip',
      'off',
      '--idle-timeout',
      '3s',
      '--max-session',
      '30s',
      ...args,
    ]);
  } catch (err) {
    await bed.destroy();
    throw err;
  }
  const records = () => readJsonLines<RespondRecord>(join(sensor.dataDir, 'sessions'));
  return {
    bed,
    sensor,
    run: (cmd, a, opts) => bed.exec(bed.scannerNs, cmd, a, { timeoutMs: 60_000, ...opts }),
    records,
    async find(dport, match = () => true, timeoutMs = 10_000) {
      const r = await eventually(() => records().find((x) => x.flow.dport === dport && match(x)), timeoutMs);
      assert.ok(r, `no session record on port ${dport} matched`);
      return r;
    },
    async close() {
      await sensor.stop().catch(() => {});
      await bed.destroy();
    },
  };
}

export const sentText = (r: RespondRecord): string =>
  Buffer.concat((r.sent ?? []).map((s) => Buffer.from(s.data, 'base64'))).toString('latin1');
