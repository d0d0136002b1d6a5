// MySQL persona: the server greeting (protocol 10, mysql_native_password, no TLS offered), the client's
// login packet parsed for the username and auth data (recorded), then "Access denied". Pure packet parser
// below; packets are capped at MAX_PACKET_BYTES.
import { randomBytes } from 'node:crypto';
import { text } from './text.js';
import type { PersonaConn, PersonaHandler } from './types.js';

/** A login packet is ~100-300 bytes; anything bigger ends the session. */
export const MAX_PACKET_BYTES = 16 * 1024;

// CLIENT_LONG_PASSWORD | FOUND_ROWS | LONG_FLAG | CONNECT_WITH_DB | PROTOCOL_41 | TRANSACTIONS |
// SECURE_CONNECTION | MULTI_RESULTS | PLUGIN_AUTH (no CLIENT_SSL: the client logs in in clear text).
const CAPS = 0x0001 | 0x0002 | 0x0004 | 0x0008 | 0x0200 | 0x2000 | 0x8000 | 0x20000 | 0x80000;

function packet(seq: number, body: Buffer): Buffer {
  const h = Buffer.alloc(4);
  h.writeUIntLE(body.length, 0, 3);
  h[3] = seq;
  return Buffer.concat([h, body]);
}

export function greeting(version: string, threadId: number): Buffer {
  const salt = randomBytes(20).map((b) => (b % 94) + 33); // printable, no NUL
  const body = Buffer.concat([
    Buffer.from([10]),
    Buffer.from(version + '\0', 'latin1'),
    u32(threadId),
    salt.subarray(0, 8),
    Buffer.from([
      0,
      CAPS & 0xff,
      (CAPS >> 8) & 0xff,
      0x21,
      0x02,
      0x00,
      (CAPS >> 16) & 0xff,
      (CAPS >> 24) & 0xff,
      21,
    ]),
    Buffer.alloc(10),
    salt.subarray(8),
    Buffer.from('\0mysql_native_password\0', 'latin1'),
  ]);
  return packet(0, body);
}

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};

export interface MysqlLogin {
  username: string;
  authData: string;
}

/** The HandshakeResponse41 body: username and auth response (hex); undefined when malformed. */
export function parseLogin(body: Buffer): MysqlLogin | undefined {
  if (body.length < 33) return undefined;
  const caps = body.readUInt32LE(0);
  let off = 32;
  const nul = body.indexOf(0, off);
  if (nul < 0) return undefined;
  const username = text(body.subarray(off, nul));
  off = nul + 1;
  let auth: Buffer = Buffer.alloc(0);
  if (off < body.length) {
    if (caps & 0x200000) {
      // CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA: one-byte length (a lenenc below 251)
      const n = body[off]! < 251 ? body[off]! : 0;
      auth = body.subarray(off + 1, off + 1 + n);
    } else if (caps & 0x8000) {
      const n = body[off]!;
      auth = body.subarray(off + 1, off + 1 + n);
    } else {
      const end = body.indexOf(0, off);
      auth = body.subarray(off, end < 0 ? body.length : end);
    }
  }
  return { username, authData: auth.subarray(0, 256).toString('hex') };
}

export function mysqlPersona(conn: PersonaConn): PersonaHandler {
  let buf = Buffer.alloc(0);
  let done = false;
  conn.send(greeting(conn.text.banner, 1 + Math.floor(Math.random() * 100000)));
  return {
    onData(d) {
      if (done) return;
      buf = Buffer.concat([buf, d]);
      if (buf.length > MAX_PACKET_BYTES) return conn.end();
      if (buf.length < 4) return;
      const len = buf.readUIntLE(0, 3);
      if (len > MAX_PACKET_BYTES) return conn.end();
      if (buf.length < 4 + len) return;
      done = true;
      const seq = buf[3]!;
      const login = parseLogin(buf.subarray(4, 4 + len));
      buf = Buffer.alloc(0);
      if (!login) return conn.end();
      if (!conn.record.addCredential({ username: login.username, auth_data: login.authData }))
        return conn.end();
      const msg = `Access denied for user '${login.username}'@'${conn.src}' (using password: ${login.authData ? 'YES' : 'NO'})`;
      const err = Buffer.concat([Buffer.from([0xff, 0x15, 0x04]), Buffer.from('#28000' + msg, 'utf8')]);
      conn.send(packet((seq + 1) & 0xff, err));
      conn.end();
    },
  };
}
