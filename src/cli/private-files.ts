import { chmod, open, stat } from "node:fs/promises";
import { formatMode } from "../errors.js";
import { safeLog, type Logger } from "../logger.js";

/** The mode of the files that hold task records: read and write for the owner only. */
export const PRIVATE_MODE = 0o600;

/** Permission bits that give other users than the owner any access. */
const GROUP_OR_OTHERS = 0o077;

/** The files SQLite keeps a database in: the file itself and, in WAL mode, `-wal` and `-shm`. */
export function databaseFiles(databasePath: string): readonly string[] {
  return [databasePath, `${databasePath}-wal`, `${databasePath}-shm`];
}

/**
 * Makes a SQLite database private to its owner before SQLite opens it: a
 * missing database file is created empty with mode 0600 (SQLite then gives
 * `-wal` and `-shm` the database file's mode, whatever the umask), and an
 * existing database, `-wal` or `-shm` that group or others can access is
 * tightened to 0600, with a warning. A file that cannot be tightened (owned
 * by another user) is warned about with the `chmod` to run.
 *
 * Tightening, rather than refusing to start, since every database made before
 * this check is 0644: refusing would stop every upgraded daemon.
 */
export async function securePrivateDatabase(databasePath: string, logger: Logger): Promise<void> {
  try {
    const created = await open(databasePath, "wx", PRIVATE_MODE);
    await created.chmod(PRIVATE_MODE);
    await created.close();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  if (process.platform === "win32") return;
  for (const path of databaseFiles(databasePath)) {
    let mode: number;
    try {
      mode = (await stat(path)).mode & 0o777;
    } catch {
      continue;
    }
    if ((mode & GROUP_OR_OTHERS) === 0) continue;
    try {
      await chmod(path, PRIVATE_MODE);
      safeLog(
        logger,
        "warn",
        { file: path, was: formatMode(mode), now: formatMode(PRIVATE_MODE) },
        "tightened the mode of a database file that other users could read",
      );
    } catch (error) {
      safeLog(
        logger,
        "warn",
        { file: path, mode: formatMode(mode), error: (error as Error).message },
        `other users can read this database file and it cannot be tightened: run \`chmod 600 ${path}\``,
      );
    }
  }
}
