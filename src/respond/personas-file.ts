// --personas FILE: a TOML file that sets the persona and its texts per port, e.g.
//   [ports.2222]
//   persona = "ssh"
//   banner = "OpenSSH_7.4"
//   [ports.8081]
//   persona = "http"
//   server = "Apache/2.2.15 (CentOS)"
//   body = "<html>...</html>"
// Checked once at start: an unknown key, persona or port is one TW_ERR_CONFIG line naming the fix.
import { readFileSync } from 'node:fs';
import { parse } from 'smol-toml';
import { TidewatchError } from '../core/errors.js';
import { PERSONAS, type PersonaName, type PersonaText } from './types.js';

export interface PortPersona {
  persona: PersonaName;
  text: Partial<PersonaText>;
}

const TEXT_KEYS = ['banner', 'hostname', 'server', 'body'] as const;

const bad = (file: string, what: string) =>
  new TidewatchError('TW_ERR_CONFIG', `--personas ${file}: ${what}`);

export function loadPersonasFile(file: string): Map<number, PortPersona> {
  let doc: Record<string, unknown>;
  try {
    doc = parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw bad(file, `${(err as Error).message.split('\n')[0]} (give a readable TOML file)`);
  }
  return parsePersonas(doc, file);
}

export function parsePersonas(doc: Record<string, unknown>, file = 'FILE'): Map<number, PortPersona> {
  const out = new Map<number, PortPersona>();
  for (const key of Object.keys(doc))
    if (key !== 'ports') throw bad(file, `unknown table [${key}]: write [ports.PORT] tables`);
  const ports = (doc.ports ?? {}) as Record<string, unknown>;
  for (const [p, v] of Object.entries(ports)) {
    const port = Number(p);
    if (!Number.isInteger(port) || port < 1 || port > 65535)
      throw bad(file, `[ports.${p}]: a port is 1-65535`);
    if (typeof v !== 'object' || v === null || Array.isArray(v))
      throw bad(file, `[ports.${p}] must be a table`);
    const t = v as Record<string, unknown>;
    const persona = t.persona;
    if (typeof persona !== 'string' || !(PERSONAS as readonly string[]).includes(persona))
      throw bad(file, `[ports.${p}] persona must be one of ${PERSONAS.join(', ')}`);
    const text: Partial<PersonaText> = {};
    for (const [k, val] of Object.entries(t)) {
      if (k === 'persona') continue;
      if (!(TEXT_KEYS as readonly string[]).includes(k))
        throw bad(file, `[ports.${p}] unknown key ${k}: use persona, ${TEXT_KEYS.join(', ')}`);
      if (typeof val !== 'string' || val.length > 65536)
        throw bad(file, `[ports.${p}] ${k} must be a string of at most 64 KiB`);
      text[k as keyof PersonaText] = val;
    }
    out.set(port, { persona: persona as PersonaName, text });
  }
  return out;
}
