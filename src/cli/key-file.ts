import { chmod, open, readFile, stat } from "node:fs/promises";
import { dirname, join, basename } from "node:path";
import { generateKey } from "../crypto/key-material.js";
import { InsecureFileError } from "../errors.js";

/** The key file that sits beside a SQLite database: `orchestrator.db` → `orchestrator.db.key`. */
export function keyFileFor(databasePath: string): string {
  return join(dirname(databasePath), `${basename(databasePath)}.key`);
}

/** Permission bits that give other users than the owner any access. */
const GROUP_OR_OTHERS = 0o077;

/**
 * Reads the key in `path`; `undefined` when there is no such file.
 *
 * @throws InsecureFileError when group or others have any access to it (the
 *   message says `chmod 600 <path>`): a key others could read is not a secret,
 *   and quietly tightening it would hide that it may have been copied.
 */
export async function readKeyFile(path: string): Promise<string | undefined> {
  let mode: number;
  try {
    mode = (await stat(path)).mode;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  // Windows has no group/others bits: Node reports 0o666 for every writable file.
  if (process.platform !== "win32" && (mode & GROUP_OR_OTHERS) !== 0) {
    throw new InsecureFileError("the key file", path, mode);
  }
  return (await readFile(path, "utf8")).trim();
}

/**
 * Reads the key in `path` ({@link readKeyFile}), or creates the file with a
 * new random key (mode 0600 whatever the umask, created exclusively so that
 * two daemons starting at once agree on one key). Returns the key text and
 * whether it was created.
 *
 * @throws InsecureFileError for an existing key file others can access.
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
  return { key: (await readKeyFile(path)) ?? "", created: false };
}
