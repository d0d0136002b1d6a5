// The capture addon's errors carry codes (native/pcap.cc): TypeScript maps them to TW_ERR_* codes and tells a
// file that is not a capture from one whose header is cut without reading libpcap's words.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { TidewatchError } from '../core/errors.js';
import { openOffline, pcapFileProblem } from './addon.js';

/** The error openOffline throws, with its code and the code of the addon's error under it. */
function failure(path: string, filter = ''): { code: string; cause: unknown; problem: string | undefined } {
  try {
    openOffline(path, filter).close();
  } catch (err) {
    assert.ok(err instanceof TidewatchError, String(err));
    return { code: err.code, cause: (err.cause as { code?: unknown }).code, problem: pcapFileProblem(err) };
  }
  throw new Error(`${path} opened`);
}

const PCAP_HEADER = Buffer.from('d4c3b2a1020004000000000000000000ffff000001000000', 'hex');

test('capture files that do not open fail with a code for each cause', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tw-pcap-codes-'));
  try {
    const file = (name: string, bytes: Buffer | string) => {
      writeFileSync(join(dir, name), bytes);
      return join(dir, name);
    };
    const words = file('words.pcap', 'this is not a capture file at all\n'.repeat(4));
    const cut = file('cut.pcap', PCAP_HEADER.subarray(0, 10));
    const ngCut = file('cut.pcapng', Buffer.from('0a0d0d0a1c0000004d3c2b1a', 'hex'));
    const ngOrder = file('order.pcapng', Buffer.from('0a0d0d0a1c000000deadbeef' + '00'.repeat(16), 'hex'));
    const good = file('good.pcap', PCAP_HEADER);
    assert.deepEqual(failure(words), {
      code: 'TW_ERR_PCAP_FILE',
      cause: 'PCAP_NOT_CAPTURE',
      problem: 'notCapture',
    });
    assert.deepEqual(failure(ngOrder).problem, 'notCapture');
    assert.deepEqual(failure(cut), {
      code: 'TW_ERR_PCAP_FILE',
      cause: 'PCAP_HEADER_CUT',
      problem: 'headerCut',
    });
    assert.deepEqual(failure(ngCut).problem, 'headerCut');
    assert.deepEqual(failure(join(dir, 'missing.pcap')), {
      code: 'TW_ERR_PCAP_FILE',
      cause: 'ENOENT',
      problem: undefined,
    });
    assert.deepEqual(failure(good, 'tcp port ?'), {
      code: 'TW_ERR_CONFIG',
      cause: 'PCAP_FILTER',
      problem: undefined,
    });
    openOffline(good, 'tcp port 80').close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
