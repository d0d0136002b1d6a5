// Loads the project's native addons (native/*.cc, built into build/Release by npm install / node-gyp).
// TW_ADDON_BUILD=Debug loads build/Debug instead (`npm run native:debug`: -O0 -g -Werror), so the
// addons' tests can run against the debug build.
import { createRequire } from 'node:module';
import { TidewatchError } from './errors.js';

const require = createRequire(import.meta.url);
const loaded = new Map<string, unknown>();

function buildType(): 'Release' | 'Debug' {
  const t = process.env.TW_ADDON_BUILD ?? 'Release';
  if (t !== 'Release' && t !== 'Debug')
    throw new TidewatchError('TW_ERR_ADDON', `TW_ADDON_BUILD=${t}: use Release or Debug, or leave it unset`);
  return t;
}

/**
 * The addon `target` (binding.gyp's target_name), loaded once. `what` names it in the error, `hint` says
 * what the build needs. `abi` checks a constant the C++ side exports, so a stale build is named as such.
 */
export function loadAddon<T>(target: string, what: string, hint: string, abi?: [keyof T, unknown]): T {
  const hit = loaded.get(target);
  if (hit) return hit as T;
  // dist/src/core → the repository root; one level less when run from a bundle beside dist.
  const type = buildType();
  const dir = `build/${type}`;
  const rebuild = type === 'Debug' ? '`npm run native:debug`' : '`npx node-gyp rebuild`';
  const candidates = [`../../../${dir}/${target}.node`, `../../${dir}/${target}.node`];
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
      throw new TidewatchError('TW_ERR_ADDON', `the ${what} addon is stale: run ${rebuild}`);
    loaded.set(target, mod);
    return mod;
  }
  throw new TidewatchError('TW_ERR_ADDON', `the ${what} addon is not built: run ${rebuild} (${hint})`, {
    cause: lastErr,
  });
}
