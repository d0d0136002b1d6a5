// VNC persona: the RFB version, the client's version and security type recorded, VNC authentication's
// challenge with the client's response recorded (as auth_data), then "Authentication failed".
import { randomBytes } from 'node:crypto';
import { text } from './text.js';
import type { PersonaConn, PersonaHandler } from './types.js';

export function vncPersona(conn: PersonaConn): PersonaHandler {
  let state: 'version' | 'security' | 'response' | 'done' = 'version';
  let buf = Buffer.alloc(0);
  let minor = 8;
  conn.send(`${conn.text.banner}\n`);
  const fail = () => {
    state = 'done';
    const reason = 'Authentication failed';
    const b = Buffer.alloc(8);
    b.writeUInt32BE(1, 0);
    b.writeUInt32BE(reason.length, 4);
    conn.send(minor >= 8 ? Buffer.concat([b, Buffer.from(reason)]) : b.subarray(0, 4));
    conn.end();
  };
  return {
    onData(d) {
      buf = Buffer.concat([buf, d]).subarray(0, 64);
      if (state === 'version') {
        if (buf.length < 12) return;
        const v = text(buf.subarray(0, 11), 11);
        buf = buf.subarray(12);
        if (!conn.record.addCommand(v)) return conn.end();
        minor = v === 'RFB 003.003' ? 3 : 8;
        state = minor === 3 ? 'response' : 'security';
        // 3.3: the server picks VNC authentication and sends the challenge; 3.7+: it offers type 2.
        conn.send(
          minor === 3 ? Buffer.concat([Buffer.from([0, 0, 0, 2]), randomBytes(16)]) : Buffer.from([1, 2]),
        );
        if (!buf.length) return;
      }
      if (state === 'security') {
        const type = buf[0]!;
        buf = buf.subarray(1);
        if (!conn.record.addCommand(`security ${type}`)) return conn.end();
        if (type !== 2) return fail();
        state = 'response';
        conn.send(randomBytes(16));
      }
      if (state === 'response' && buf.length >= 16) {
        const ok = conn.record.addCredential({
          username: '',
          auth_data: buf.subarray(0, 16).toString('hex'),
        });
        buf = Buffer.alloc(0);
        if (!ok) return conn.end();
        fail();
      }
    },
  };
}
