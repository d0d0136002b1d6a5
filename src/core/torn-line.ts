// A process killed in the middle of an append leaves a torn last line. Line files (JSON lines, spools) are cut
// back to their last newline when they are opened again, so a reader never meets half a record.
import type { FileHandle } from 'node:fs/promises';

/** Bytes read backwards at a time while looking for the last newline. */
const STEP = 64 * 1024;

/** Cuts the file back to just after its last newline (to empty when it has none); returns the bytes cut. */
export async function cutTornLine(fh: FileHandle, size: number): Promise<number> {
  if (size === 0) return 0;
  const buf = Buffer.alloc(Math.min(STEP, size));
  let end = size;
  while (end > 0) {
    const start = Math.max(0, end - buf.length);
    const { bytesRead } = await fh.read(buf, 0, end - start, start);
    const nl = buf.lastIndexOf(0x0a, bytesRead - 1);
    if (nl >= 0) {
      const keep = start + nl + 1;
      if (keep < size) await fh.truncate(keep);
      return size - keep;
    }
    end = start;
  }
  await fh.truncate(0);
  return size;
}
