// Opens the store's database file with the settings every connection needs, and migrates it.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

import Database from 'better-sqlite3';

import { TidewatchError } from '../../core/errors.js';
import { migrate } from './schema.js';

export const DB_FILE = 'tidewatch.db';

export interface OpenedDb {
  db: Database.Database;
  file: string;
  migrated: { from: number; to: number };
}

export function openDb(dataDir: string, file = DB_FILE): OpenedDb {
  const path = join(dataDir, file);
  let db: Database.Database | undefined;
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    db = new Database(path);
    // Before anything writes the file header (switching to WAL does): lets retention give freed pages back to
    // the file system in small steps. Without effect on an existing file.
    if (db.pragma('user_version', { simple: true }) === 0) db.pragma('auto_vacuum = INCREMENTAL');
    // WAL: readers (the API) never wait for the writer; NORMAL sync is durable across process crashes and
    // loses at most the last commits on power loss, which is fine for counters and captured payloads.
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('temp_store = MEMORY');
    db.pragma('cache_size = -65536');
    db.pragma('busy_timeout = 2000');
    // Checkpoint every ~40 MB of WAL instead of 4 MB: counter, source and index pages that every batch
    // touches again are then copied back to the database once per checkpoint, not once per few batches.
    db.pragma('wal_autocheckpoint = 10000');
    const migrated = migrate(db);
    return { db, file: path, migrated };
  } catch (err) {
    db?.close();
    if (err instanceof TidewatchError) throw err;
    throw new TidewatchError(
      'TW_ERR_STORE',
      `cannot open the store ${path}: ${(err as Error).message} (check --data-dir, its permissions and free space, or run with --store off)`,
      { cause: err },
    );
  }
}
