import { createSecretKey, randomBytes, timingSafeEqual, type KeyObject } from "node:crypto";
import { InvalidArgumentError, Redacted } from "../errors.js";
import {
  KEY_FORMS,
  KEY_GENERATION_HINT,
  KEY_LENGTH,
  deriveKeyId,
  parseKeyMaterial,
  validateKeyId,
  type KeyMaterial,
} from "./key-material.js";

/** Environment variable holding one key (32 bytes, base64 or hex). */
export const ENCRYPTION_KEY_ENV = "ORCHESTRATOR_ENCRYPTION_KEY";

/** Environment variable holding a keyring, `id1:key1,id2:key2`: the first key seals, all open. */
export const ENCRYPTION_KEYS_ENV = "ORCHESTRATOR_ENCRYPTION_KEYS";

/** One key with an optional id; without an id, {@link deriveKeyId} names it. */
export interface KeyEntryInput {
  /** Id written into envelopes sealed with this key. @defaultValue derived from the key */
  readonly id?: string;
  /** The key: 32 bytes, or a base64 or hex string of 32 bytes. */
  readonly key: KeyMaterial;
}

/** A key given alone or with its id. */
export type KeyInput = KeyMaterial | KeyEntryInput;

/**
 * What the `encryptionKey` option accepts: one key, a list of keys (the first
 * seals, all open), a keyring string `id1:key1,id2:key2`, or a {@link Keyring}.
 */
export type EncryptionKeyOption = KeyInput | readonly KeyInput[] | Keyring;

/** Environment variables, as `process.env`. */
export type Environment = Readonly<Record<string, string | undefined>>;

/**
 * An ordered set of AES-256 keys, each with an id. The first key (the primary)
 * seals; every key opens. Keys are held as `KeyObject`s in private fields, so
 * neither `console.log`, `util.inspect` nor `JSON.stringify` shows them.
 */
export class Keyring {
  readonly #keys: ReadonlyMap<string, KeyObject>;
  readonly #primaryId: string;
  readonly #ephemeral: boolean;

  /**
   * @param entries - at least one key; the first becomes the primary.
   * @param options.argument - the option or variable the keys came from, named in errors.
   *   @defaultValue "encryptionKey"
   * @param options.ephemeral - marks a throwaway keyring (see {@link createEphemeralKeyring}).
   *   @defaultValue false
   * @throws InvalidArgumentError for an empty list, a bad key or id, or a repeated id.
   */
  constructor(
    entries: readonly KeyInput[],
    options: { readonly argument?: string; readonly ephemeral?: boolean } = {},
  ) {
    const argument = options.argument ?? "encryptionKey";
    if (!Array.isArray(entries) || entries.length === 0) {
      throw new InvalidArgumentError(
        argument,
        `a list of at least one key (${KEY_FORMS})`,
        Array.isArray(entries) ? entries : new Redacted(shapeOf(entries)),
      );
    }
    const keys = new Map<string, KeyObject>();
    entries.forEach((entry, index) => {
      const where = entries.length === 1 ? argument : `${argument}[${index}]`;
      const { id, key } = toEntry(entry, where);
      const material = parseKeyMaterial(key, where);
      try {
        const keyId = id === undefined ? deriveKeyId(material) : validateKeyId(id, `${where}.id`);
        if (keys.has(keyId)) {
          throw new InvalidArgumentError(
            `${where}.id`,
            "an id used by no other key in the keyring",
            keyId,
            id === undefined ? "the same key is listed twice" : undefined,
          );
        }
        keys.set(keyId, createSecretKey(material));
      } finally {
        material.fill(0);
      }
    });
    this.#keys = keys;
    this.#primaryId = keys.keys().next().value as string;
    this.#ephemeral = options.ephemeral ?? false;
  }

  /** Id of the key that seals. */
  get primaryId(): string {
    return this.#primaryId;
  }

  /** Ids of all keys, primary first. */
  get ids(): readonly string[] {
    return [...this.#keys.keys()];
  }

  /** True for a random keyring that lives only in this process (records sealed with it die with it). */
  get ephemeral(): boolean {
    return this.#ephemeral;
  }

  /** Whether a key with this id is in the keyring. */
  has(id: string): boolean {
    return this.#keys.has(id);
  }

  /** The key with this id, for the sealer; `undefined` when absent. */
  key(id: string): KeyObject | undefined {
    return this.#keys.get(id);
  }

  /** Describes the keyring by ids only. */
  toString(): string {
    return `Keyring(primary ${this.#primaryId}; ${this.#keys.size} key${this.#keys.size === 1 ? "" : "s"})`;
  }

  /** Serialises as ids only, never key material. */
  toJSON(): { primaryId: string; ids: readonly string[] } {
    return { primaryId: this.#primaryId, ids: this.ids };
  }
}

function toEntry(entry: unknown, where: string): { id: unknown; key: unknown } {
  if (typeof entry === "string" || entry instanceof Uint8Array)
    return { id: undefined, key: entry };
  if (typeof entry === "object" && entry !== null && "key" in entry) {
    const { id, key } = entry as { id?: unknown; key: unknown };
    return { id, key };
  }
  throw new InvalidArgumentError(
    where,
    `a key (${KEY_FORMS}) or { id?, key }`,
    new Redacted(shapeOf(entry)),
  );
}

function shapeOf(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object without `key`" : `a ${typeof value}`;
}

/**
 * Parses a keyring string, `id1:key1,id2:key2` (the format of
 * `ORCHESTRATOR_ENCRYPTION_KEYS`): comma-separated entries, each `id:key` or
 * just `key` (its id is then derived). The first entry seals; all open.
 * Whitespace around entries and empty entries are ignored.
 *
 * @param argument - the variable or option the string came from, named in errors.
 * @throws InvalidArgumentError naming `argument` and the entry (by position and id).
 */
export function parseKeyringSpec(spec: string, argument: string = ENCRYPTION_KEYS_ENV): Keyring {
  const entries: { id: string; key: Buffer }[] = [];
  try {
    spec.split(",").forEach((raw, index) => {
      const text = raw.trim();
      if (text.length === 0) return;
      const where = `${argument} entry ${index + 1}`;
      const colon = text.indexOf(":");
      const explicitId =
        colon === -1 ? undefined : validateKeyId(text.slice(0, colon).trim(), `${where} id`);
      const key = parseKeyMaterial(
        colon === -1 ? text : text.slice(colon + 1),
        explicitId === undefined ? where : `${where} (id ${JSON.stringify(explicitId)})`,
      );
      const id = explicitId ?? deriveKeyId(key);
      entries.push({ id, key });
      if (entries.filter((entry) => entry.id === id).length > 1) {
        throw new InvalidArgumentError(
          `${where} id`,
          "an id used by no other entry",
          id,
          explicitId === undefined ? "the same key is listed twice" : undefined,
        );
      }
    });
    if (entries.length === 0) {
      throw new InvalidArgumentError(
        argument,
        `a list of keys "id1:key1,id2:key2" (each key ${KEY_FORMS})`,
        new Redacted("a string with no entries"),
      );
    }
    return new Keyring(entries, { argument });
  } finally {
    for (const entry of entries) entry.key.fill(0);
  }
}

/**
 * Builds a keyring from the `encryptionKey` option: a key, `{ id, key }`, a
 * list of either (first seals), a keyring string `id1:key1,id2:key2`, or a
 * Keyring (returned as is).
 *
 * @param argument - the option name used in errors. @defaultValue "encryptionKey"
 * @throws InvalidArgumentError naming the option and what was wrong.
 */
export function createKeyring(input: EncryptionKeyOption, argument = "encryptionKey"): Keyring {
  if (input instanceof Keyring) return input;
  if (typeof input === "string" && /[:,]/.test(input)) return parseKeyringSpec(input, argument);
  if (Array.isArray(input)) return new Keyring(input as readonly KeyInput[], { argument });
  return new Keyring([input as KeyInput], { argument });
}

/**
 * A keyring of one random key that exists only in this process: for the
 * memory store, whose records never outlive the process.
 */
export function createEphemeralKeyring(): Keyring {
  const material = randomBytes(KEY_LENGTH);
  try {
    return new Keyring([{ id: `ephemeral-${deriveKeyId(material)}`, key: material }], {
      ephemeral: true,
    });
  } finally {
    material.fill(0);
  }
}

/**
 * Reads the keyring from the environment: `ORCHESTRATOR_ENCRYPTION_KEYS` when
 * set (and `ORCHESTRATOR_ENCRYPTION_KEY`, if also set, must be one of its
 * keys, or the setup is ambiguous), else `ORCHESTRATOR_ENCRYPTION_KEY`. Empty
 * or blank values count as unset.
 *
 * @param env - the environment to read. @defaultValue process.env
 * @returns the keyring, or `undefined` when neither variable is set.
 * @throws InvalidArgumentError naming the variable, for a malformed value.
 */
export function keyringFromEnv(env: Environment = process.env): Keyring | undefined {
  const single = nonBlank(env[ENCRYPTION_KEY_ENV]);
  const list = nonBlank(env[ENCRYPTION_KEYS_ENV]);
  if (list !== undefined) {
    const ring = parseKeyringSpec(list, ENCRYPTION_KEYS_ENV);
    if (single !== undefined) {
      if (!ring.ids.some((id) => sameKey(ring, id, single))) {
        throw new InvalidArgumentError(
          ENCRYPTION_KEY_ENV,
          `unset, or one of the keys of ${ENCRYPTION_KEYS_ENV}`,
          new Redacted("a key that is not in the keyring"),
          `both variables are set and ${ENCRYPTION_KEYS_ENV} (whose first key seals) does not include it; ` +
            `add it to ${ENCRYPTION_KEYS_ENV} so that records sealed with it still open, then unset ${ENCRYPTION_KEY_ENV}`,
        );
      }
    }
    return ring;
  }
  if (single !== undefined) return new Keyring([single], { argument: ENCRYPTION_KEY_ENV });
  return undefined;
}

function sameKey(ring: Keyring, id: string, material: string): boolean {
  const key = ring.key(id);
  if (key === undefined) return false;
  const a = key.export();
  const b = parseKeyMaterial(material, ENCRYPTION_KEY_ENV);
  try {
    return timingSafeEqual(a, b);
  } finally {
    a.fill(0);
    b.fill(0);
  }
}

function nonBlank(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value;
}

/** Options of {@link resolveKeyring}. */
export interface ResolveKeyringOptions {
  /** The scheduler's `encryptionKey` option; when given, the environment is not read. */
  readonly encryptionKey?: EncryptionKeyOption | undefined;
  /** The environment to read. @defaultValue process.env */
  readonly env?: Environment;
  /**
   * Whether records outlive the process (a SQLite or PostgreSQL store). A
   * durable store without a key is an error; otherwise an ephemeral keyring
   * is made.
   */
  readonly durable: boolean;
}

/**
 * Finds the keyring a production-mode scheduler seals with: the
 * `encryptionKey` option, else the environment ({@link keyringFromEnv}), else,
 * for a store that is not durable, a new ephemeral keyring.
 *
 * @throws InvalidArgumentError when a durable store has no key (the message
 *   says how to generate and provide one) or a given key is malformed.
 */
export function resolveKeyring(options: ResolveKeyringOptions): Keyring {
  if (options.encryptionKey !== undefined) return createKeyring(options.encryptionKey);
  const env = options.env ?? process.env;
  const fromEnv = keyringFromEnv(env);
  if (fromEnv !== undefined) return fromEnv;
  if (!options.durable) return createEphemeralKeyring();
  const blank = [ENCRYPTION_KEY_ENV, ENCRYPTION_KEYS_ENV].filter((name) => env[name] !== undefined);
  throw new InvalidArgumentError(
    "encryptionKey",
    `a key (${KEY_FORMS}), or the environment variable ${ENCRYPTION_KEY_ENV} ` +
      `(one key) or ${ENCRYPTION_KEYS_ENV} ("id1:key1,id2:key2", the first seals)`,
    undefined,
    (blank.length > 0
      ? `${blank.join(" and ")} ${blank.length === 1 ? "is" : "are"} set but blank. `
      : "") +
      "A durable store in production mode seals every task record and needs a key that outlives the process: " +
      `${KEY_GENERATION_HINT}, then set ${ENCRYPTION_KEY_ENV} to it or pass it as \`encryptionKey\`. ` +
      "Keep it secret and backed up: records sealed with a lost key cannot be opened. " +
      "(For tests only, `testMode = true` stores records in plaintext.)",
  );
}
