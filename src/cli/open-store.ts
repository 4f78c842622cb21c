import { existsSync } from "node:fs";
import { dirname } from "node:path";
import { Dispatcher } from "../core/dispatcher.js";
import { InvalidArgumentError, MissingKeyError } from "../errors.js";
import {
  ENCRYPTION_KEYS_ENV,
  ENCRYPTION_KEY_ENV,
  keyringFromEnv,
  resolveKeyring,
  type Keyring,
} from "../crypto/keyring.js";
import type { Store } from "../store/store.js";
import { inheritedEnv } from "./child-env.js";
import { COMMAND_STOP_MS } from "./handlers/command.js";
import { keyFileFor, loadOrCreateKeyFile, readKeyFile } from "./key-file.js";
import type { StoreLocation } from "./store-url.js";

/** Where the daemon's encryption key came from. */
export type KeySource =
  | { readonly kind: "env" }
  | { readonly kind: "key-file"; readonly path: string; readonly created: boolean };

/** A store ready to give to a Scheduler, with the key its records are sealed with. */
export interface OpenedStore {
  readonly store: Store;
  readonly encryptionKey: Keyring;
  readonly keySource: KeySource;
}

/**
 * Finds the encryption key the CLI uses for a store: `ORCHESTRATOR_ENCRYPTION_KEYS`
 * or `ORCHESTRATOR_ENCRYPTION_KEY` when set; else, for SQLite, the key file
 * beside the database (`orchestrator.db.key`, mode 0600), created on first
 * use when `create` is true; PostgreSQL without a key throws the
 * InvalidArgumentError that says how to make one.
 *
 * A key file is never created for a database that already holds sealed
 * records: a new key could not open them, and records sealed with it could
 * not be opened with the old one once restored.
 *
 * @param create - create a missing key file (the daemon); store commands pass false
 *   and then fail like PostgreSQL when there is no key at all.
 * @throws MissingKeyError when there is no key but the SQLite database holds
 *   sealed records (the message names the key ids they need).
 * @throws InsecureFileError when the key file can be read or written by others.
 */
export async function resolveCliKey(
  location: StoreLocation,
  env: Readonly<Record<string, string | undefined>>,
  create: boolean,
): Promise<{ encryptionKey: Keyring; keySource: KeySource }> {
  const fromEnv = keyringFromEnv(env);
  if (fromEnv !== undefined) return { encryptionKey: fromEnv, keySource: { kind: "env" } };
  if (location.kind === "sqlite") {
    if (!existsSync(dirname(location.path))) {
      throw new InvalidArgumentError(
        "--store",
        "a database file in an existing folder",
        location.path,
        `the folder ${dirname(location.path)} does not exist`,
      );
    }
    const path = keyFileFor(location.path);
    let key = await readKeyFile(path);
    let created = false;
    if (key === undefined) {
      await refuseIfSealed(location.path, path);
      if (create) ({ key, created } = await loadOrCreateKeyFile(path));
    }
    if (key !== undefined) {
      return {
        encryptionKey: resolveKeyring({ encryptionKey: key, durable: true }),
        keySource: { kind: "key-file", path, created },
      };
    }
  }
  // No key anywhere: this throws the error that explains how to provide one.
  return { encryptionKey: resolveKeyring({ env, durable: true }), keySource: { kind: "env" } };
}

/** Throws MissingKeyError when the database at `databasePath` holds sealed records. */
async function refuseIfSealed(databasePath: string, keyFile: string): Promise<void> {
  const { readSealedKeyIds } = await import("../store/sqlite/sealed-key-ids.js");
  const needed = readSealedKeyIds(databasePath);
  if (needed.size === 0) return;
  const ids = [...needed.keys()];
  const records = [...needed].map(([id, count]) => `${count} with key id ${id}`).join(", ");
  throw new MissingKeyError(
    `The database ${databasePath} holds sealed task records (${records}), but no key was found: ` +
      `${ENCRYPTION_KEYS_ENV} and ${ENCRYPTION_KEY_ENV} are unset and there is no key file ${keyFile}. ` +
      `Restore that key file from your backup (mode 0600), or set ${ENCRYPTION_KEY_ENV} to the key ` +
      `(${ENCRYPTION_KEYS_ENV} for several). No new key was created: it could not open these records.`,
    ids,
  );
}

/**
 * The key the daemon would use for `location` ({@link resolveCliKey}, never
 * creating a key file), or undefined when there is none at all: no
 * `ORCHESTRATOR_ENCRYPTION_KEY(S)` and, for SQLite, no key file. A key that
 * is there but malformed still throws.
 */
export async function findCliKey(
  location: StoreLocation,
  env: Readonly<Record<string, string | undefined>>,
): Promise<Keyring | undefined> {
  const none =
    keyringFromEnv(env) === undefined &&
    (location.kind !== "sqlite" || !existsSync(keyFileFor(location.path)));
  if (none) return undefined;
  return (await resolveCliKey(location, env, false)).encryptionKey;
}

/**
 * Creates the store named by `--store` (not opened yet: the Scheduler opens
 * it). PostgreSQL's driver is loaded only when asked for, since `pg` is an
 * optional peer dependency.
 *
 * @param options.quickCheck - SQLite: refuse a damaged file when opening it (the daemon).
 */
export async function createStore(
  location: StoreLocation,
  options: { readonly quickCheck?: boolean } = {},
): Promise<Store> {
  if (location.kind === "sqlite") {
    const { SqliteStore } = await import("../store/sqlite/index.js");
    return new SqliteStore({ path: location.path, quickCheck: options.quickCheck === true });
  }
  const { PostgresStore } = await import("../store/postgres/index.js");
  return new PostgresStore({
    connectionString: location.connectionString,
    ...(location.schema === undefined ? {} : { schema: location.schema }),
    ...(location.historyPartitionHours === undefined
      ? {}
      : { historyPartitionHours: location.historyPartitionHours }),
  });
}

/** {@link resolveCliKey} then {@link createStore}. */
export async function openCliStore(
  location: StoreLocation,
  env: Readonly<Record<string, string | undefined>>,
  create: boolean,
): Promise<OpenedStore> {
  const { encryptionKey, keySource } = await resolveCliKey(location, env, create);
  return { store: await createStore(location), encryptionKey, keySource };
}

/** Bootstrap for worker threads when running from sources (a variable, so bundlers leave it alone). */
const DEV_WORKER_BOOT = "./dev-worker-boot.mjs";

/**
 * The Dispatcher the CLI uses. From the TypeScript sources, module handlers'
 * threads need a loader first; the built CLI finds its built worker entry.
 * Module tasks' threads see `env` without the daemon's own secrets
 * ({@link inheritedEnv}). A timed-out command is waited for while it is
 * killed, so that its run is recorded with its exit status and output.
 *
 * @param env - the daemon's environment. @defaultValue process.env
 */
export function createCliDispatcher(
  env: Readonly<Record<string, string | undefined>> = process.env,
): Dispatcher {
  const here = import.meta.url;
  const threadEnv = inheritedEnv(env);
  const timeoutGraceMs = COMMAND_STOP_MS + 1_000;
  return here.endsWith(".ts")
    ? new Dispatcher({
        workerEntry: new URL(DEV_WORKER_BOOT, here),
        env: threadEnv,
        timeoutGraceMs,
      })
    : new Dispatcher({ env: threadEnv, timeoutGraceMs });
}
