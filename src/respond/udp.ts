// UDP replies (--respond-udp on): DNS, SIP and SSDP get a minimal answer that is never larger than the
// request, and replies are rate-limited per source and in all, so the sensor can never amplify traffic
// towards a spoofed source. Pure functions of the request; nothing is looked up or fetched.
import type { SensorContext } from '../core/context.js';
import { WindowLimit } from './rate.js';

/** Replies per minute in all, whatever the sources. */
const MAX_REPLIES_PER_MINUTE = 1000;

/** DNS: the header and first question, QR set and REFUSED, no records (always shorter than the query). */
export function dnsReply(q: Buffer): Buffer | undefined {
  if (q.length < 17 || q[2]! & 0x80 || q.readUInt16BE(4) < 1) return undefined;
  let off = 12;
  for (let labels = 0; labels < 128; labels++) {
    if (off >= q.length) return undefined;
    const n = q[off]!;
    if (n === 0) break;
    if (n > 63) return undefined;
    off += 1 + n;
  }
  off += 5; // the root label, QTYPE, QCLASS
  if (off > q.length) return undefined;
  const r = Buffer.from(q.subarray(0, off));
  r[2] = 0x80 | (q[2]! & 0x79); // QR, the opcode and RD copied
  r[3] = 0x05; // REFUSED
  r.writeUInt16BE(1, 4);
  r.fill(0, 6, 12);
  return r;
}

/** SIP: 200 OK to OPTIONS with the dialog headers copied back. */
export function sipReply(q: Buffer): Buffer | undefined {
  const s = q.toString('latin1');
  if (!s.startsWith('OPTIONS ')) return undefined;
  const keep = s.split('\r\n').filter((l) => /^(via|from|to|call-id|cseq):/i.test(l.slice(0, 8)));
  return Buffer.from(`SIP/2.0 200 OK\r\n${keep.join('\r\n')}\r\nContent-Length: 0\r\n\r\n`, 'latin1');
}

/** SSDP: an answer to M-SEARCH. */
export function ssdpReply(q: Buffer, dst: string): Buffer | undefined {
  if (!q.toString('latin1', 0, 9).startsWith('M-SEARCH ')) return undefined;
  return Buffer.from(
    `HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=1800\r\nST: upnp:rootdevice\r\nLOCATION: http://${dst}:49152/desc.xml\r\n\r\n`,
  );
}

const REPLIES: Record<number, (q: Buffer, dst: string) => Buffer | undefined> = {
  53: dnsReply,
  5060: sipReply,
  1900: ssdpReply,
};

/** The reply to a datagram, or undefined; never larger than the request. */
export function udpReply(q: Buffer, dport: number, dst: string): Buffer | undefined {
  const r = REPLIES[dport]?.(q, dst);
  return r && r.length <= q.length ? r : undefined;
}

export class UdpResponder {
  private readonly limit: WindowLimit;

  constructor(private readonly ctx: SensorContext) {
    this.limit = new WindowLimit(60_000, MAX_REPLIES_PER_MINUTE, ctx.cfg.respondUdpRate);
  }

  /** The reply to send for this datagram (counted), or undefined (none, or over the rate: counted). */
  reply(q: Buffer, src: string, dport: number, dst: string): Buffer | undefined {
    const r = udpReply(q, dport, dst);
    if (!r) return undefined;
    if (!this.limit.allow(src)) {
      this.ctx.stats.inc('respond_udp_limited_total');
      return undefined;
    }
    this.ctx.stats.inc('respond_udp_replies_total');
    return r;
  }
}
