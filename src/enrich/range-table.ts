// A sorted table of address ranges on disk: each record is a range's first address (big-endian, 4 or 16
// bytes) and a fixed-size value that holds up to the next record's first address. The file is written once
// at build time (tables-build.ts); the sensor keeps only a sparse index in memory (every BLOCK-th key) and
// reads one block with pread per look-up. The rest stays in the page cache, shared and outside the
// process's RSS: a few hundred KB instead of the ~145 MB the CSV once cost as JS objects.
import { closeSync, openSync, readSync, writeFileSync } from 'node:fs';

import { TidewatchError } from '../core/errors.js';

const MAGIC = 'TWRANGE1';
const HEADER_BYTES = 24;
/** Records per block: one look-up reads one block (1–3 KB). */
const BLOCK = 128;

export interface RangeRecord {
  key: Uint8Array;
  value: Uint8Array;
}

/** Writes records (sorted by key, keys distinct) as a range table file. */
export function writeRangeTable(
  file: string,
  keyBytes: number,
  valueBytes: number,
  rows: RangeRecord[],
): void {
  const rec = keyBytes + valueBytes;
  const blocks = Math.ceil(rows.length / BLOCK);
  const out = Buffer.alloc(HEADER_BYTES + blocks * keyBytes + rows.length * rec);
  out.write(MAGIC, 0, 'latin1');
  out.writeUInt32LE(keyBytes, 8);
  out.writeUInt32LE(valueBytes, 12);
  out.writeUInt32LE(rows.length, 16);
  const recordsAt = HEADER_BYTES + blocks * keyBytes;
  rows.forEach((r, i) => {
    if (i % BLOCK === 0) out.set(r.key, HEADER_BYTES + (i / BLOCK) * keyBytes);
    out.set(r.key, recordsAt + i * rec);
    out.set(r.value, recordsAt + i * rec + keyBytes);
  });
  writeFileSync(file, out);
}

function readExactly(fd: number, buf: Buffer, length: number, position: number): void {
  let got = 0;
  while (got < length) {
    const n = readSync(fd, buf, got, length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  if (got < length) throw new Error('short read');
}

/** The last i in [lo, hi] for which atMost(i) holds (true up to some i, false after), else `none`. */
function lastWhere(lo: number, hi: number, atMost: (i: number) => boolean, none = -1): number {
  let at = none;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (atMost(mid)) {
      at = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return at;
}

export class RangeTable {
  readonly keyBytes: number;
  readonly valueBytes: number;
  readonly count: number;
  private readonly index: Buffer;
  private readonly recordsAt: number;
  private readonly block: Buffer;

  private constructor(
    private fd: number,
    file: string,
  ) {
    const head = Buffer.alloc(HEADER_BYTES);
    readExactly(fd, head, HEADER_BYTES, 0);
    if (head.toString('latin1', 0, 8) !== MAGIC)
      throw new TidewatchError('TW_ERR_PREREQ', `${file} is not a range table: run \`npm run build\``);
    this.keyBytes = head.readUInt32LE(8);
    this.valueBytes = head.readUInt32LE(12);
    this.count = head.readUInt32LE(16);
    const blocks = Math.ceil(this.count / BLOCK);
    this.index = Buffer.alloc(blocks * this.keyBytes);
    readExactly(fd, this.index, this.index.length, HEADER_BYTES);
    this.recordsAt = HEADER_BYTES + this.index.length;
    this.block = Buffer.alloc(BLOCK * (this.keyBytes + this.valueBytes));
  }

  static open(file: string): RangeTable {
    const fd = openSync(file, 'r');
    try {
      return new RangeTable(fd, file);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  /** The value of the last record whose key is <= key (a view into a reused buffer), or undefined. */
  find(key: Uint8Array): Buffer | undefined {
    const k = this.keyBytes;
    // Last block whose first key <= key.
    const b = lastWhere(
      0,
      this.index.length / k - 1,
      (i) => this.index.compare(key, 0, k, i * k, i * k + k) <= 0,
    );
    if (b < 0) return undefined;
    const rec = k + this.valueBytes;
    const n = Math.min(BLOCK, this.count - b * BLOCK);
    readExactly(this.fd, this.block, n * rec, this.recordsAt + b * BLOCK * rec);
    // Last record in the block whose key <= key (the block's first one is, by the index).
    const at = lastWhere(1, n - 1, (i) => this.block.compare(key, 0, k, i * rec, i * rec + k) <= 0, 0);
    return this.block.subarray(at * rec + k, at * rec + rec);
  }

  close(): void {
    if (this.fd < 0) return;
    closeSync(this.fd);
    this.fd = -1;
  }
}
