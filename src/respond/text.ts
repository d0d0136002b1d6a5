// Attacker bytes made into bounded text for records: UTF-8 with replacement characters, cut at a cap.
/** Longest string kept from one credential field. */
export const MAX_FIELD_CHARS = 256;
/** Longest command line kept. */
export const MAX_COMMAND_CHARS = 1024;

export function text(b: Buffer | string, max = MAX_FIELD_CHARS): string {
  const s = typeof b === 'string' ? b : b.subarray(0, max * 4).toString('utf8');
  return s.length > max ? s.slice(0, max) : s;
}

/** base64 decoded as text (SASL PLAIN / LOGIN), bounded; undefined when it is not base64. */
export function fromBase64(s: string): Buffer | undefined {
  const t = s.trim();
  if (!t || t.length > 4096 || !/^[A-Za-z0-9+/]+=*$/.test(t)) return undefined;
  return Buffer.from(t, 'base64');
}

/** SASL PLAIN: authzid NUL authcid NUL password. */
export function saslPlain(b: Buffer): { username: string; password: string } | undefined {
  const a = b.indexOf(0);
  const c = a < 0 ? -1 : b.indexOf(0, a + 1);
  if (c < 0) return undefined;
  return { username: text(b.subarray(a + 1, c)), password: text(b.subarray(c + 1)) };
}
