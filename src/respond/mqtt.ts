// MQTT persona: a packet parser (fixed header, remaining length, capped) and a handler that records the
// CONNECT's client id, username and password, accepts it (CONNACK), then records what the client publishes
// or subscribes to, answering SUBACK, PUBACK and PINGRESP.
import { text } from './text.js';
import type { PersonaConn, PersonaHandler } from './types.js';

/** One packet at most; a bigger remaining length ends the session. */
export const MAX_PACKET_BYTES = 16 * 1024;

export interface MqttPacket {
  type: number;
  flags: number;
  body: Buffer;
}

/** Splits a byte stream into MQTT packets. */
export class MqttReader {
  private buf = Buffer.alloc(0);
  bad = false;

  push(d: Buffer): MqttPacket[] {
    const out: MqttPacket[] = [];
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : Buffer.from(d);
    while (!this.bad && this.buf.length >= 2) {
      let len = 0;
      let i = 1;
      for (let mul = 1; ; mul *= 128, i++) {
        if (i >= this.buf.length) return out;
        if (i > 4) {
          this.bad = true;
          return out;
        }
        len += (this.buf[i]! & 0x7f) * mul;
        if (!(this.buf[i]! & 0x80)) break;
      }
      if (len > MAX_PACKET_BYTES) {
        this.bad = true;
        return out;
      }
      if (this.buf.length < i + 1 + len) return out;
      out.push({
        type: this.buf[0]! >> 4,
        flags: this.buf[0]! & 15,
        body: this.buf.subarray(i + 1, i + 1 + len),
      });
      this.buf = this.buf.subarray(i + 1 + len);
    }
    return out;
  }
}

/** Reads length-prefixed strings. */
class Fields {
  off = 0;
  constructor(private readonly b: Buffer) {}
  bytes(): Buffer | undefined {
    if (this.off + 2 > this.b.length) return undefined;
    const n = this.b.readUInt16BE(this.off);
    if (this.off + 2 + n > this.b.length) return undefined;
    const v = this.b.subarray(this.off + 2, this.off + 2 + n);
    this.off += 2 + n;
    return v;
  }
  u8(): number | undefined {
    return this.off < this.b.length ? this.b[this.off++] : undefined;
  }
}

export interface MqttConnect {
  clientId: string;
  username?: string;
  password?: string;
  level: number;
}

export function parseConnect(body: Buffer): MqttConnect | undefined {
  const f = new Fields(body);
  if (f.bytes() === undefined) return undefined;
  const level = f.u8();
  const flags = f.u8();
  if (level === undefined || flags === undefined) return undefined;
  f.off += 2; // keep alive
  if (level === 5) {
    const n = f.u8(); // properties length (a single-byte varint is enough for CONNECTs seen in the wild)
    if (n === undefined) return undefined;
    f.off += n;
  }
  const id = f.bytes();
  if (id === undefined) return undefined;
  const c: MqttConnect = { clientId: text(id), level };
  if (flags & 0x04) {
    if (level === 5) f.off += f.u8() ?? 0;
    if (f.bytes() === undefined || f.bytes() === undefined) return c;
  }
  if (flags & 0x80) {
    const u = f.bytes();
    if (u !== undefined) c.username = text(u);
  }
  if (flags & 0x40) {
    const p = f.bytes();
    if (p !== undefined) c.password = text(p);
  }
  return c;
}

export function mqttPersona(conn: PersonaConn): PersonaHandler {
  const reader = new MqttReader();
  let level = 4;
  return {
    onData(d) {
      for (const p of reader.push(d)) {
        if (conn.ended) return;
        if (!onPacket(conn, p, level, (l) => (level = l))) return conn.end();
      }
      if (reader.bad && !conn.ended) conn.end();
    },
  };
}

/** Answers one packet; false ends the session. */
function onPacket(conn: PersonaConn, p: MqttPacket, level: number, setLevel: (l: number) => void): boolean {
  switch (p.type) {
    case 1: {
      const c = parseConnect(p.body);
      if (!c) return false;
      setLevel(c.level);
      if (!conn.record.addCommand(`CONNECT ${c.clientId}`)) return false;
      if (c.username !== undefined || c.password !== undefined)
        if (!conn.record.addCredential({ username: c.username ?? '', password: c.password ?? '' }))
          return false;
      conn.send(c.level === 5 ? Buffer.from([0x20, 3, 0, 0, 0]) : Buffer.from([0x20, 2, 0, 0]));
      return true;
    }
    case 3: {
      const f = new Fields(p.body);
      const topic = f.bytes();
      const qos = (p.flags >> 1) & 3;
      const id = qos ? p.body.subarray(f.off, f.off + 2) : undefined;
      const payload = p.body.subarray(f.off + (qos ? 2 : 0) + (level === 5 ? 1 : 0));
      if (!conn.record.addCommand(`PUBLISH ${text(topic ?? Buffer.alloc(0))} ${text(payload, 512)}`))
        return false;
      if (qos === 1 && id?.length === 2) conn.send(Buffer.concat([Buffer.from([0x40, 2]), id]));
      return true;
    }
    case 8: {
      const id = p.body.subarray(0, 2);
      const f = new Fields(p.body.subarray(2 + (level === 5 ? 1 : 0)));
      const topics: string[] = [];
      for (let t = f.bytes(); t !== undefined && topics.length < 16; t = f.bytes()) {
        topics.push(text(t));
        f.off++;
      }
      if (!conn.record.addCommand(`SUBSCRIBE ${topics.join(' ')}`)) return false;
      conn.send(Buffer.concat([Buffer.from([0x90, 2 + topics.length]), id, Buffer.alloc(topics.length)]));
      return true;
    }
    case 12:
      conn.send(Buffer.from([0xd0, 0]));
      return true;
    case 14:
      conn.end();
      return true;
    default:
      return true;
  }
}
