// Loads the project's native addons (native/*.cc, built into build/Release by npm install / node-gyp).
import { createRequire } from 'node:module';
import { TidewatchError } from './errors.js';

const require = createRequire(import.meta.url);
const loaded = new Map<string, unknown>();

/**
 * The addon `target` (binding.gyp's target_name), loaded once. `what` names it in the error, `hint` says
 * what the build needs. `abi` checks a constant the C++ side exports, so a stale build is named as such.
 */
export function loadAddon<T>(target: string, what: string, hint: string, abi?: [keyof T, unknown]): T {
  const hit = loaded.get(target);
  if (hit) return hit as T;
  // dist/src/core → the repository root; one level less when run from a bundle beside dist.
  const candidates = [`../../../build/Release/${target}.node`, `../../build/Release/${target}.node`];
  let lastErr: unknown;
  for (const rel of candidates) {
    let mod: T;
    try {
      mod = require(new URL(rel, import.meta.url).pathname) as T;
    } catch (err) {
      lastErr = err;
      continue;
    }
    if (abi && mod[abi[0]] !== abi[1])
      throw new TidewatchError('TW_ERR_ADDON', `the ${what} addon is stale: run \`npx node-gyp rebuild\``);
    loaded.set(target, mod);
    return mod;
  }
  throw new TidewatchError(
    'TW_ERR_ADDON',
    `the ${what} addon is not built: run \`npx node-gyp rebuild\` (${hint})`,
    { cause: lastErr },
  );
}
