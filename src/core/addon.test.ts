// The numbers and codes that cross the native boundary: each addon exports its C++ enums as objects, and
// they must equal the TypeScript copies the decoders use (DESIGN §6.8). A mismatch here means a record or
// an error would be read as something else.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BatchState, PcapErrorCode } from '../capture/addon.js';
import { CloseCode, RecordFlag as EngineFlag, RecordKind } from '../listen/tcp-engine.js';
import { RecordFlag as DatagramFlag } from '../listen/transparent-addon.js';
import { loadAddon } from './addon.js';
import { TidewatchError } from './errors.js';

type Exports = Record<string, unknown>;
const load = (target: string) => loadAddon<Exports>(target, target, 'needs g++ and make');

test('every enum the addons export equals its TypeScript copy', () => {
  const tcp = load('tidewatch_tcp');
  assert.deepEqual(tcp.RECORD_KIND, RecordKind);
  assert.deepEqual(tcp.CLOSE_REASON, CloseCode);
  assert.deepEqual(tcp.RECORD_FLAG, EngineFlag);
  assert.deepEqual(load('tidewatch_transparent').RECORD_FLAG, DatagramFlag);
  const pcap = load('tidewatch_pcap');
  assert.deepEqual(pcap.ERROR_CODE, PcapErrorCode);
  assert.deepEqual(pcap.BATCH_STATE, BatchState);
});

test('a bad TW_ADDON_BUILD is a one-line error that names the accepted values', () => {
  const saved = process.env.TW_ADDON_BUILD;
  process.env.TW_ADDON_BUILD = 'Fast';
  try {
    assert.throws(
      () => loadAddon('tidewatch_not_loaded', 'test', ''),
      (e: unknown) =>
        e instanceof TidewatchError && e.code === 'TW_ERR_ADDON' && /Release or Debug/.test(e.message),
    );
  } finally {
    if (saved === undefined) delete process.env.TW_ADDON_BUILD;
    else process.env.TW_ADDON_BUILD = saved;
  }
});
