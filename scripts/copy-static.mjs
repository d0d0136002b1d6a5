#!/usr/bin/env node
// tsc emits no static files: copy the dashboard (src/web/static) beside the compiled server (dist/src/web).
import { cpSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const from = join(root, 'src/web/static');
if (existsSync(from)) cpSync(from, join(root, 'dist/src/web/static'), { recursive: true });
