// ssh2 is loaded on first use (the first SSH session, or making host keys at a first start), not with the
// rest of the sensor: with its WebAssembly poly1305 it holds ~10 MB that an idle sensor need not (the first
// SSH session waits for it once, ~0.1-0.3 s).
import { createRequire } from 'node:module';
import type * as Ssh2 from 'ssh2';

const require = createRequire(import.meta.url);
let lib: typeof Ssh2 | undefined;

export function ssh2(): typeof Ssh2 {
  return (lib ??= require('ssh2') as typeof Ssh2);
}
