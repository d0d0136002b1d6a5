// SSH persona: a real SSH server (the ssh2 package) over a stream the responder feeds, so both directions
// are recorded and capped like any persona. Records the client's identification and HASSH (ssh-kex.ts),
// every password and public key tried, then denies; with --ssh-accept a password login gets the recording
// shell. Key exchanges cost CPU: they are limited per second per source and in all.
import { createHash } from 'node:crypto';
import { Duplex } from 'node:stream';
import type * as Ssh2 from 'ssh2';
import type { SensorContext } from '../core/context.js';
import { LineReader } from './lines.js';
import { WindowLimit } from './rate.js';
import { shellReply } from './shell.js';
import { SshKexReader } from './ssh-kex.js';
import { loadOrCreateHostKeys } from './ssh-keys.js';
import { ssh2 } from './ssh-lib.js';
import { text } from './text.js';
import type { PersonaConn, PersonaFactory, PersonaHandler } from './types.js';

/** OpenSSH's form: SHA256: and the unpadded base64 of the key blob's digest. */
export function keyFingerprint(blob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

/** The SSH persona for this sensor: host keys loaded (or made) once, limits shared by all sessions. */
export function sshPersona(ctx: SensorContext): PersonaFactory {
  const { cfg, stats } = ctx;
  const hostKeys = loadOrCreateHostKeys(cfg.dataDir);
  const limit = new WindowLimit(1000, cfg.sshHandshakes, cfg.sshHandshakesPerSource);
  return (conn) => {
    if (!limit.allow(conn.src)) {
      stats.inc('respond_ssh_handshakes_limited_total');
      conn.end();
      return { onData() {} };
    }
    return sshSession(conn, hostKeys, cfg.sshAccept);
  };
}

function sshSession(conn: PersonaConn, hostKeys: Buffer[], accept: boolean): PersonaHandler {
  const kex = new SshKexReader();
  // The stream ssh2 sees as its socket: reads are the client's bytes, writes go out through the persona.
  const stream = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      conn.send(chunk);
      cb();
    },
    final(cb) {
      conn.end();
      cb();
    },
  });
  stream.on('error', () => {});
  const server = new (ssh2().Server)({ hostKeys, ident: conn.text.banner }, (client) => {
    client.on('error', () => {});
    client.on('authentication', (a) => onAuth(conn, a, accept));
    client.on('ready', () => client.on('session', (acceptSession) => shellSession(conn, acceptSession())));
  });
  server.injectSocket(stream as never);
  return {
    onData(d) {
      if (!kex.info) {
        const info = kex.push(d);
        if (info) conn.record.ssh = info;
      }
      stream.push(d);
    },
    close() {
      if (!conn.record.ssh && kex.client !== undefined) conn.record.ssh = { client: kex.client };
      stream.destroy();
    },
  };
}

function onAuth(conn: PersonaConn, a: Ssh2.AuthContext, accept: boolean): void {
  const username = text(a.username);
  let ok = true;
  if (a.method === 'password') ok = conn.record.addCredential({ username, password: text(a.password) });
  else if (a.method === 'publickey') {
    // OpenSSH asks first without a signature; it only signs for a key we accept, so record the query.
    if (!a.signature)
      ok = conn.record.addCredential({
        username,
        key_type: text(a.key.algo, 64),
        key_fingerprint: keyFingerprint(a.key.data),
      });
  } else if (a.method === 'keyboard-interactive') {
    return a.prompt([{ prompt: 'Password: ', echo: false }], (answers) => {
      const password = text(answers[0] ?? '');
      if (!conn.record.addCredential({ username, password })) return conn.end();
      if (accept) a.accept();
      else a.reject(['publickey', 'password', 'keyboard-interactive']);
    });
  }
  if (!ok) return conn.end();
  if (accept && a.method === 'password') return a.accept();
  a.reject(['publickey', 'password', 'keyboard-interactive']);
}

/** --ssh-accept: the recording shell on a pty/shell request, and exec requests answered the same way. */
function shellSession(conn: PersonaConn, session: Ssh2.Session): void {
  session.on('pty', (ok) => ok?.());
  session.on('env', (ok) => ok?.());
  session.on('exec', (ok, _reject, info) => {
    const ch = ok();
    conn.record.addCommand(info.command);
    ch.write(shellReply(text(info.command, 1024)).output);
    ch.exit(0);
    ch.end();
  });
  session.on('shell', (ok) => {
    const ch = ok();
    const lines = new LineReader();
    const prompt = `root@${conn.text.hostname}:~# `;
    ch.write(prompt);
    ch.on('data', (d: Buffer) => {
      ch.write(d.toString('latin1').replace(/\r/g, '\r\n')); // a pty echoes what is typed
      for (const line of lines.push(Buffer.from(d.toString('latin1').replace(/\r/g, '\n'), 'latin1'))) {
        const cmd = text(line, 1024).trim();
        if (!cmd) {
          ch.write(prompt);
          continue;
        }
        if (!conn.record.addCommand(cmd)) return conn.end();
        const r = shellReply(cmd);
        if (r.exit) {
          ch.exit(0);
          return ch.end();
        }
        ch.write(r.output + prompt);
      }
    });
  });
}
