// Redis persona: a RESP parser (arrays of bulk strings, and inline commands; capped, split anywhere) and
// replies to what attackers send (PING, INFO, CONFIG, SET, SLAVEOF/REPLICAOF, MODULE LOAD, ...); every
// command is recorded with its arguments.
import { LineReader } from './lines.js';
import { text } from './text.js';
import type { PersonaConn, PersonaHandler } from './types.js';

/** Arguments of one command at most, and bytes of one bulk string (longer ones are cut, then skipped). */
export const MAX_ARGS = 64;
export const MAX_BULK_BYTES = 64 * 1024;

type State =
  { kind: 'start' } | { kind: 'array'; left: number } | { kind: 'bulk'; left: number; need: number };

/** Splits a RESP byte stream into commands (each a list of arguments). */
export class RespReader {
  private buf = Buffer.alloc(0);
  private args: string[] = [];
  private state: State = { kind: 'start' };
  private readonly inline = new LineReader();
  /** Set when the stream broke the protocol: the caller answers an error and ends. */
  bad = false;

  push(d: Buffer): string[][] {
    const out: string[][] = [];
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : Buffer.from(d);
    while (!this.bad && this.buf.length) {
      if (this.state.kind === 'start' && this.buf[0] !== 0x2a) {
        // Inline command: a line of words.
        for (const line of this.inline.push(this.buf)) {
          const words = line.toString('latin1').split(' ').filter(Boolean).slice(0, MAX_ARGS);
          if (words.length) out.push(words);
        }
        this.buf = Buffer.alloc(0);
        break;
      }
      if (this.state.kind === 'bulk') {
        const st = this.state;
        if (this.buf.length < st.need + 2) {
          if (st.need > MAX_BULK_BYTES) this.bad = true;
          break;
        }
        this.args.push(this.buf.subarray(0, st.need).toString('latin1'));
        this.buf = this.buf.subarray(st.need + 2);
        this.next(st.left - 1, out);
        continue;
      }
      const nl = this.buf.indexOf('\r\n');
      if (nl < 0) {
        if (this.buf.length > 64) this.bad = true;
        break;
      }
      const head = this.buf.subarray(0, nl).toString('latin1');
      this.buf = this.buf.subarray(nl + 2);
      const n = Number(head.slice(1));
      if (this.state.kind === 'start') {
        if (head[0] !== '*' || !Number.isInteger(n) || n < 0 || n > MAX_ARGS) this.bad = true;
        else this.next(n, out);
      } else if (head[0] !== '$' || !Number.isInteger(n) || n < 0 || n > MAX_BULK_BYTES) this.bad = true;
      else this.state = { kind: 'bulk', left: this.state.left, need: n };
    }
    if (this.bad) this.buf = Buffer.alloc(0);
    return out;
  }

  private next(left: number, out: string[][]): void {
    if (left > 0) {
      this.state = { kind: 'array', left };
      return;
    }
    if (this.args.length) out.push(this.args);
    this.args = [];
    this.state = { kind: 'start' };
  }
}

const bulk = (s: string) => `$${Buffer.byteLength(s)}\r\n${s}\r\n`;

function info(version: string): string {
  return (
    `# Server\r\nredis_version:${version}\r\nredis_mode:standalone\r\nos:Linux 5.15.0-91-generic x86_64\r\n` +
    `arch_bits:64\r\ntcp_port:6379\r\nuptime_in_seconds:1843022\r\n\r\n# Clients\r\nconnected_clients:1\r\n\r\n` +
    `# Memory\r\nused_memory:871680\r\nused_memory_human:851.25K\r\n\r\n# Replication\r\nrole:master\r\nconnected_slaves:0\r\n\r\n` +
    `# Keyspace\r\ndb0:keys=3,expires=0,avg_ttl=0\r\n`
  );
}

export function redisReply(args: string[], version: string): string {
  const cmd = (args[0] ?? '').toUpperCase();
  const sub = (args[1] ?? '').toUpperCase();
  switch (cmd) {
    case 'PING':
      return args[1] !== undefined ? bulk(args[1]) : '+PONG\r\n';
    case 'ECHO':
      return bulk(args[1] ?? '');
    case 'INFO':
      return bulk(info(version));
    case 'CONFIG':
      if (sub === 'GET')
        return `*2\r\n${bulk(args[2] ?? '')}${bulk(args[2] === 'dir' ? '/var/lib/redis' : '')}`;
      return '+OK\r\n';
    case 'SET':
    case 'QUIT':
    case 'SLAVEOF':
    case 'REPLICAOF':
    case 'FLUSHALL':
    case 'FLUSHDB':
    case 'SAVE':
    case 'SELECT':
      return '+OK\r\n';
    case 'BGSAVE':
      return '+Background saving started\r\n';
    case 'GET':
      return '$-1\r\n';
    case 'DEL':
    case 'EXISTS':
      return ':0\r\n';
    case 'KEYS':
    case 'COMMAND':
      return '*0\r\n';
    case 'DBSIZE':
      return ':3\r\n';
    case 'AUTH':
      return '-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n';
    case 'MODULE':
      return sub === 'LOAD'
        ? '-ERR Error loading the extension. Please check the server logs.\r\n'
        : '*0\r\n';
    case 'CLIENT':
      return sub === 'LIST'
        ? bulk('id=3 addr=127.0.0.1:50000 fd=8 name= age=0 idle=0 db=0 cmd=client\n')
        : '+OK\r\n';
    default: {
      const name = text(args[0] ?? '', 64).replace(/[\r\n]/g, ' ');
      return `-ERR unknown command '${name}', with args beginning with: \r\n`;
    }
  }
}

export function redisPersona(conn: PersonaConn): PersonaHandler {
  const reader = new RespReader();
  return {
    onData(d) {
      for (const args of reader.push(d)) {
        if (conn.ended) return;
        if (!conn.record.addCommand(args.join(' '))) return conn.end();
        if ((args[0] ?? '').toUpperCase() === 'AUTH')
          if (
            !conn.record.addCredential({
              username: args[2] ? text(args[1]!) : 'default',
              password: text(args[2] ?? args[1] ?? ''),
            })
          )
            return conn.end();
        conn.send(redisReply(args, conn.text.banner));
        if ((args[0] ?? '').toUpperCase() === 'QUIT') return conn.end();
      }
      if (reader.bad && !conn.ended) {
        conn.send('-ERR Protocol error: invalid multibulk length\r\n');
        conn.end();
      }
    },
  };
}
