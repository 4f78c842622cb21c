import { chmod, open, readFile } from "node:fs/promises";
import { dirname, join, basename } from "node:path";
import { generateKey } from "../crypto/key-material.js";

/** The key file that sits beside a SQLite database: `orchestrator.db` → `orchestrator.db.key`. */
export function keyFileFor(databasePath: string): string {
  return join(dirname(databasePath), `${basename(databasePath)}.key`);
}

/**
 * Reads the key in `path`, or creates the file with a new random key (mode
 * 0600, created exclusively so that two daemons starting at once agree on one
 * key). Returns the key text and whether it was created.
 */
export async function loadOrCreateKeyFile(
  path: string,
): Promise<{ key: string; created: boolean }> {
  try {
    const handle = await open(path, "wx", 0o600);
    try {
      const key = generateKey();
      await handle.writeFile(`${key}\n`);
      await handle.sync();
      await chmod(path, 0o600);
      return { key, created: true };
    } finally {
      await handle.close();
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  const key = (await readFile(path, "utf8")).trim();
  return { key, created: false };
}
