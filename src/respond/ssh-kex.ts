// The SSH client's identification line and first KEXINIT, read from the raw bytes it sends (both are in
// clear text): enough for `ssh.client` and HASSH. Pure, capped, works on chunks split anywhere.
import { createHash } from 'node:crypto';
import type { SshInfo } from '../core/events.js';
import { text } from './text.js';

/** Bytes read at most before giving up (an identification line is at most 255, a KEXINIT a few KiB). */
export const MAX_KEX_BYTES = 64 * 1024;
const MSG_KEXINIT = 20;

export class SshKexReader {
  private buf = Buffer.alloc(0);
  private done = false;
  client: string | undefined;
  info: SshInfo | undefined;

  /** Feeds client bytes; returns the info once the KEXINIT is complete (then ignores the rest). */
  push(d: Buffer): SshInfo | undefined {
    if (this.done) return undefined;
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : Buffer.from(d);
    if (this.buf.length > MAX_KEX_BYTES) return this.finish();
    if (this.client === undefined) {
      const nl = this.buf.indexOf(0x0a);
      if (nl < 0) return this.buf.length > 255 ? this.finish() : undefined;
      const line = this.buf.subarray(0, nl);
      this.client = text(line.subarray(0, line[line.length - 1] === 0x0d ? -1 : undefined), 255);
      this.buf = this.buf.subarray(nl + 1);
    }
    if (this.buf.length < 6) return undefined;
    const len = this.buf.readUInt32BE(0);
    if (len > MAX_KEX_BYTES || len < 2) return this.finish();
    if (this.buf.length < 4 + len) return undefined;
    const pad = this.buf[4]!;
    const payload = this.buf.subarray(5, 4 + len - pad);
    const algos = payload[0] === MSG_KEXINIT ? kexLists(payload) : undefined;
    return this.finish(algos);
  }

  private finish(algos?: string): SshInfo | undefined {
    this.done = true;
    this.buf = Buffer.alloc(0);
    if (this.client === undefined) return undefined;
    this.info = { client: this.client };
    if (algos !== undefined) {
      this.info.hassh = createHash('md5').update(algos).digest('hex');
      this.info.hassh_algorithms = algos;
    }
    return this.info;
  }
}

/** kex;ciphers;macs;compression (client to server) from a KEXINIT payload, or undefined if malformed. */
export function kexLists(payload: Buffer): string | undefined {
  let off = 17; // message number and cookie
  const lists: string[] = [];
  for (let i = 0; i < 8; i++) {
    if (off + 4 > payload.length) return undefined;
    const n = payload.readUInt32BE(off);
    off += 4;
    if (off + n > payload.length) return undefined;
    lists.push(payload.subarray(off, off + n).toString('latin1'));
    off += n;
  }
  // 0 kex, 1 host key, 2 enc c2s, 3 enc s2c, 4 mac c2s, 5 mac s2c, 6 comp c2s, 7 comp s2c
  return text([lists[0], lists[2], lists[4], lists[6]].join(';'), 8192);
}
