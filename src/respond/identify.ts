// Which persona the first client bytes ask for. Pure and linear: a few fixed prefixes, no regex. The
// prefixes are also handed to the native engine (the first read that matches one comes to JS); bytes that
// match none stay in C and are recorded without an answer.
import type { PersonaName } from './types.js';

const HTTP_METHODS = [
  'GET ',
  'POST ',
  'HEAD ',
  'PUT ',
  'DELETE ',
  'OPTIONS ',
  'PATCH ',
  'CONNECT ',
  'TRACE ',
];

/** First bytes that may start a protocol a persona speaks (a shorter read that starts one also matches). */
export const HANDOFF_PREFIXES: readonly Buffer[] = [
  ...HTTP_METHODS.map((m) => Buffer.from(m)),
  Buffer.from('SSH-'),
  Buffer.from('*'), // Redis RESP array
  Buffer.from('PING'), // Redis inline
  Buffer.from([0x10]), // MQTT CONNECT
];

/** Bytes after which identify() stops asking for more. */
export const IDENTIFY_MAX_BYTES = 64;

const startsWith = (head: Buffer, p: string): boolean | 'more' => {
  const n = Math.min(head.length, p.length);
  for (let i = 0; i < n; i++) if (head[i] !== p.charCodeAt(i)) return false;
  return n < p.length ? 'more' : true;
};

/** The persona for these first bytes; 'more' when they are the start of one and more bytes may tell. */
export function identify(head: Buffer): PersonaName | 'more' | undefined {
  if (!head.length) return 'more';
  let more = false;
  const check = (p: string): boolean => {
    const r = startsWith(head, p);
    if (r === 'more') more = true;
    return r === true;
  };
  if (HTTP_METHODS.some(check)) return 'http';
  if (check('SSH-')) return 'ssh';
  if (check('PING')) return 'redis';
  if (head[0] === 0x2a) {
    // *<digits>\r\n
    if (head.length < 2) return 'more';
    return head[1]! >= 0x30 && head[1]! <= 0x39 ? 'redis' : undefined;
  }
  if (head[0] === 0x10) return mqttConnect(head);
  return more ? 'more' : undefined;
}

/** An MQTT CONNECT: type 1, a remaining length, then the protocol name "MQTT" or "MQIsdp". */
function mqttConnect(head: Buffer): 'mqtt' | 'more' | undefined {
  let i = 1;
  for (; i < 5 && i < head.length; i++) if (!(head[i]! & 0x80)) break;
  if (i >= head.length) return head.length < 5 ? 'more' : undefined;
  const rest = head.subarray(i + 1);
  for (const name of ['\x00\x04MQTT', '\x00\x06MQIsdp']) {
    const r = startsWith(rest, name);
    if (r === true) return 'mqtt';
    if (r === 'more') return 'more';
  }
  return undefined;
}
