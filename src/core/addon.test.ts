// The numbers and codes that cross the native boundary: each addon exports its C++ enums as objects, and
// they must equal the TypeScript copies the decoders use (DESIGN §6.8). A mismatch here means a record or
// an error would be read as something else.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BatchState, PcapErrorCode } from '../capture/addon.js';
import { CloseCode, RecordFlag as EngineFlag, RecordKind } from '../listen/tcp-engine.js';
import { RecordFlag as DatagramFlag } from '../listen/transparent-addon.js';
import { loadAddon } from './addon.js';

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
