// Files shipped beside the code (rules/, data/): at the repository root, three levels above the compiled
// dist/src/intel/ (as cli/main.ts finds package.json).
import { fileURLToPath } from 'node:url';

export const shippedFile = (rel: string): string =>
  fileURLToPath(new URL(`../../../${rel}`, import.meta.url));
