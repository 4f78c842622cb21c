import { existsSync } from "node:fs";
import { dirname } from "node:path";
import { readFile } from "node:fs/promises";
import { Dispatcher } from "../core/dispatcher.js";
import { InvalidArgumentError } from "../errors.js";
import { keyringFromEnv, resolveKeyring, type Keyring } from "../crypto/keyring.js";
import type { Store } from "../store/store.js";
import { keyFileFor, loadOrCreateKeyFile } from "./key-file.js";
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
 * @param create - create a missing key file (the daemon); store commands pass false
 *   and then fail like PostgreSQL when there is no key at all.
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
    if (create) {
      const { key, created } = await loadOrCreateKeyFile(path);
      return {
        encryptionKey: resolveKeyring({ encryptionKey: key, durable: true }),
        keySource: { kind: "key-file", path, created },
      };
    }
    let key: string | undefined;
    try {
      key = (await readFile(path, "utf8")).trim();
    } catch {
      key = undefined;
    }
    if (key !== undefined && key !== "") {
      return {
        encryptionKey: resolveKeyring({ encryptionKey: key, durable: true }),
        keySource: { kind: "key-file", path, created: false },
      };
    }
  }
  // No key anywhere: this throws the error that explains how to provide one.
  return { encryptionKey: resolveKeyring({ env, durable: true }), keySource: { kind: "env" } };
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
 */
export function createCliDispatcher(): Dispatcher {
  const here = import.meta.url;
  return here.endsWith(".ts")
    ? new Dispatcher({ workerEntry: new URL(DEV_WORKER_BOOT, here) })
    : new Dispatcher();
}
